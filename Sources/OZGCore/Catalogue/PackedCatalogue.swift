import Foundation

/// The built-in catalogue in a packed form that needs no parsing at start, generated from the plain files of
/// `catalogue/` (which stay the source of truth) and compiled into the library next to them.
///
/// Why: every command used to read the built-in catalogue from its plain files (CSV, the fixed-width GV100AD)
/// into objects before doing anything: 51 ms of CPU time of `ozgtrack catalogue stats` against 14 ms for
/// `ozgtrack --version` (release build, `perf stat -r 10`; 19 ms with this form), even for `set`, which needs
/// two key look-ups. The
/// packed form needs no parsing or checking at run time: the service catalogue is decoded from it in one pass,
/// and the territory is not decoded at all until a command asks for every unit — a single unit is found by a
/// binary search over the packed lines (see ``RegionRegistry``).
///
/// The form is text (UTF-8, one record a line, fields separated by tabs; `\`, tab, CR and LF inside a value
/// escaped as `\\`, `\t`, `\r`, `\n`; an optional value is empty when absent and starts with `=` when present),
/// so that the EmbedData plugin can embed it like the plain files and a change to the catalogue shows as a
/// readable diff. `scripts/pack-catalogue.sh` (`ozgtrack catalogue pack`) writes it; `PackedCatalogueTests`
/// prove that packing the plain files gives exactly the embedded bytes, so it cannot go stale unnoticed.
/// A catalogue folder given by the user (`--catalogue DIR`) is always read from its plain files.
public enum PackedCatalogue {
    /// The version of the packed form; a file of another version is not used.
    static let version = "1"
    /// Where the packed files live, relative to the package root (listed in OZGCore's `embed.list`).
    static let folder = "Sources/OZGCore/Catalogue/Packed/"

    /// The name of the packed file of an edition: `ozg.packed`, `regions-GV100AD_30112025.txt.packed`.
    public static func fileName(of edition: Edition) -> String {
        let name = edition.path.split(separator: "/").last.map(String.init) ?? edition.part
        return edition.part == "ozg" ? "ozg.packed" : "\(edition.part)-\(name).packed"
    }

    /// The packed files of every part of `catalogue`, by file name (see ``fileName(of:)``).
    /// - Throws: ``InputError`` when the catalogue holds a value the packed form cannot keep.
    public static func files(of catalogue: Catalogue) throws(InputError) -> [(name: String, text: String)] {
        var files: [(name: String, text: String)] = []
        files.append((fileName(of: catalogue.services.edition), try pack(catalogue.services)))
        for territory in try [catalogue.regions] + catalogue.previousTerritories() {
            files.append((fileName(of: territory.edition), try pack(territory)))
        }
        return files.sorted { $0.name < $1.name }
    }

    /// The embedded packed text of an edition, if the library was built with one.
    static func embedded(_ edition: Edition) -> StaticString? { EmbeddedData.files[folder + fileName(of: edition)] }

    // MARK: - Packing

    /// The packed form of a service catalogue.
    public static func pack(_ catalogue: ServiceCatalogue) throws(InputError) -> String {
        var out = PackedWriter()
        let leika = catalogue.leikaCount
        out.line(
            ["ozgtrack-packed-ozg", version, catalogue.edition.path, catalogue.edition.date]
                + [catalogue.themenfelder.count, catalogue.lebenslagen.count, catalogue.services.count, leika,
                   catalogue.unassignedLeiKa.count].map(String.init))
        for field in catalogue.themenfelder {
            for code in field.leadLaender where code.isEmpty || code.contains(",") {
                throw InputError(message: "Themenfeld \(field.number): lead Land \(code.quotedForMessage) cannot be packed")
            }
            out.line(
                ["T", String(field.number), PackedWriter.text(field.name), field.leadLaender.joined(separator: ","),
                 PackedWriter.text(field.leadText), PackedWriter.optional(field.leadMinistry), PackedWriter.text(field.ministryText),
                 field.verification.rawValue, PackedWriter.text(field.verificationText)]
                    + field.sources.map(PackedWriter.text))
        }
        for situation in catalogue.lebenslagen {
            out.line(["L", String(situation.number), PackedWriter.text(situation.name), String(situation.themenfeld)])
        }
        for service in catalogue.services {
            out.line(
                ["S", service.id.description, PackedWriter.text(service.name), String(service.lebenslage), String(service.themenfeld),
                 String(service.leika.count)])
            for entry in service.leika { out.line(leikaFields("K", entry)) }
        }
        for entry in catalogue.unassignedLeiKa { out.line(leikaFields("U", entry)) }
        return out.text
    }

    private static func leikaFields(_ tag: String, _ service: LeiKaService) -> [String] {
        [tag, service.key?.description ?? "", PackedWriter.text(service.name), service.ozgID?.description ?? "",
         PackedWriter.text(service.type.raw), PackedWriter.text(service.legalBasis), PackedWriter.text(service.laws),
         PackedWriter.text(service.lawAbbreviation), service.sdg1 ? "1" : "0", service.sdg2 ? "1" : "0"]
    }

    /// The packed form of a territory edition: a header with the counts per level, then one line per unit in
    /// key order (the order a binary search over the lines relies on).
    public static func pack(_ registry: RegionRegistry) throws(InputError) -> String {
        var out = PackedWriter()
        out.line(
            ["ozgtrack-packed-regions", version, registry.edition.path, registry.date, String(registry.regions.count)]
                + RegionLevel.allCases.map { String(registry.count($0)) })
        var previous: String?
        for region in registry.regions {
            if let previous, !(previous < region.key.description) {
                throw InputError(message: "region \(region.key) follows \(previous): expected the units in key order")
            }
            previous = region.key.description
            out.line(
                [region.key.description, region.level.rawValue, region.textCode.map(String.init) ?? "", PackedWriter.text(region.name),
                 PackedWriter.optional(region.seat), region.parent?.description ?? "", region.verband?.description ?? "",
                 String(region.population), String(region.areaHectares), PackedWriter.optional(region.postcode),
                 PackedWriter.optional(region.ars)])
        }
        return out.text
    }

    // MARK: - Unpacking

    /// Reads a packed service catalogue for `edition`: the Themenfelder, Lebenslagen and OZG-Leistungen now, their
    /// LeiKa services when a caller first asks for them (see ``LeiKaStorage``); of those only the tag and the
    /// LeiKa-Typ of each line are read now (whether a service concerns municipalities follows from them).
    /// - Throws: ``InputError`` naming the packed file and line when it does not hold that edition's catalogue.
    static func services(_ text: StaticString, edition: Edition) throws(InputError) -> ServiceCatalogue {
        let file = "\(folder)\(fileName(of: edition)) (built in)"
        var reader = PackedReader(text, file: file)
        let header = reader.fields()
        guard header.count == 9, header[0] == "ozgtrack-packed-ozg", header[1] == version, header[2] == edition.path,
            header[3] == edition.date
        else {
            throw InputError(
                file: file, line: 1,
                message: "is not the packed catalogue of \(edition.path) of \(edition.date) in form \(version): run scripts/pack-catalogue.sh")
        }
        var themenfelder: [Themenfeld] = []
        var lebenslagen: [Lebenslage] = []
        var services: [(fields: [String], municipal: Bool)] = []
        var runs: [LeiKaStorage.Run] = []
        var unassigned = LeiKaStorage.Run(start: reader.offset, line: reader.line + 1, count: 0)
        // The LeiKa-Typ values seen so far (a dozen distinct ones), by where their bytes are: compared as bytes,
        // so that the 5,249 lines make no strings.
        var knownTypes: [(bytes: Range<Int>, municipal: Bool)] = []
        /// Skips the next LeiKa line (tag `tag`), giving whether its LeiKa-Typ means execution at municipal level.
        func skipLeiKa(_ tag: UInt8, _ expectation: @autoclosure () -> String) throws(InputError) -> Bool {
            let line = reader.skipLine()
            guard line.count > 1, reader.bytes[line.lowerBound] == tag, reader.bytes[line.lowerBound + 1] == 0x09,
                let type = reader.fieldRange(4, of: line), let base = reader.bytes.baseAddress
            else { throw reader.error(expectation()) }
            for known in knownTypes
            where known.bytes.count == type.count && memcmp(base + known.bytes.lowerBound, base + type.lowerBound, type.count) == 0 {
                return known.municipal
            }
            let municipal = try LeiKaType(raw: PackedReader.field(reader.bytes, type, escaped: true)).isMunicipal
            knownTypes.append((type, municipal))
            return municipal
        }
        while let tag = reader.nextTag {
            if tag == UInt8(ascii: "U") {
                if unassigned.count == 0 { unassigned = LeiKaStorage.Run(start: reader.offset, line: reader.line + 1, count: 0) }
                _ = try skipLeiKa(tag, "expected an unassigned LeiKa service")
                unassigned = LeiKaStorage.Run(start: unassigned.start, line: unassigned.line, count: unassigned.count + 1)
                continue
            }
            if unassigned.count > 0 { throw reader.error("expected only unassigned LeiKa services at the end") }
            let fields = reader.fields()
            switch fields.first ?? "" {
            case "T":
                guard fields.count >= 9, let number = Int(fields[1]),
                    let verification = Themenfeld.Verification(rawValue: fields[7])
                else { throw reader.error("expected a Themenfeld") }
                themenfelder.append(
                    Themenfeld(
                        number: number, name: fields[2],
                        leadLaender: fields[3].split(separator: ",").map(String.init), leadText: fields[4],
                        leadMinistry: PackedReader.optional(fields[5]), ministryText: fields[6],
                        verification: verification, verificationText: fields[8],
                        sources: Array(fields.dropFirst(9))))
            case "L":
                guard fields.count == 4, let number = Int(fields[1]), let field = Int(fields[3]) else {
                    throw reader.error("expected a Lebenslage")
                }
                lebenslagen.append(Lebenslage(number: number, name: fields[2], themenfeld: field))
            case "S":
                guard fields.count == 6, Int(fields[3]) != nil, Int(fields[4]) != nil, let count = Int(fields[5]) else {
                    throw reader.error("expected an OZG-Leistung")
                }
                let run = LeiKaStorage.Run(start: reader.offset, line: reader.line + 1, count: count)
                var municipal = false
                for _ in 0..<count {
                    if try skipLeiKa(UInt8(ascii: "K"), "expected one of the \(count) LeiKa services of \(fields[1])") { municipal = true }
                }
                runs.append(run)
                services.append((fields, municipal))
            default:
                throw reader.error("expected a line starting with T, L, S or U")
            }
        }
        let leikaCount = runs.reduce(unassigned.count) { $0 + $1.count }
        let storage = LeiKaStorage(LeiKaStorage.Table(bytes: reader.bytes, file: file, services: runs, unassigned: unassigned))
        var ozgServices: [OZGService] = []
        ozgServices.reserveCapacity(services.count)
        for (position, service) in services.enumerated() {
            let fields = service.fields
            ozgServices.append(
                OZGService(
                    id: try OZGID(fields[1]), name: fields[2], lebenslage: Int(fields[3]) ?? 0, themenfeld: Int(fields[4]) ?? 0,
                    isMunicipal: service.municipal, packed: storage, position: position))
        }
        let catalogue = ServiceCatalogue(
            edition: edition, themenfelder: themenfelder, lebenslagen: lebenslagen, services: ozgServices,
            unassigned: .packed(storage, 0), leikaCount: leikaCount)
        guard [catalogue.themenfelder.count, catalogue.lebenslagen.count, catalogue.services.count, leikaCount,
               unassigned.count].map(String.init) == Array(header[4...])
        else { throw InputError(file: file, line: 1, message: "the counts of the header do not match the records") }
        return catalogue
    }

    /// Reads a packed territory edition for `edition`: only the header is read now (see ``PackedRegionTable``).
    /// - Throws: ``InputError`` naming the packed file when it does not hold that edition.
    static func regions(_ text: StaticString, edition: Edition) throws(InputError) -> RegionRegistry {
        let file = "\(folder)\(fileName(of: edition)) (built in)"
        var reader = PackedReader(text, file: file)
        let header = reader.fields()
        let counts = header.dropFirst(4).compactMap { Int($0) }
        guard header.count == 5 + RegionLevel.allCases.count, header[0] == "ozgtrack-packed-regions", header[1] == version,
            header[2] == edition.path, header[3] == edition.date, counts.count == 1 + RegionLevel.allCases.count
        else {
            throw InputError(
                file: file, line: 1, message: "is not the packed territory \(edition.path) of \(edition.date) in form \(version): run scripts/pack-catalogue.sh")
        }
        let table = PackedRegionTable(
            bytes: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount), body: reader.offset,
            count: counts[0], levelCounts: Array(counts.dropFirst()))
        return RegionRegistry(edition: edition, date: String(header[3]), packed: table)
    }
}

/// Writes packed lines.
struct PackedWriter {
    private(set) var text = ""

    /// Writes one line of fields (each already escaped by ``text(_:)`` where it may hold any text).
    mutating func line(_ fields: [String]) { text += fields.joined(separator: "\t") + "\n" }

    /// A value with `\`, tab, CR and LF escaped.
    static func text(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return value }
        var out = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// An optional value: empty when absent, `=` and the escaped value when present.
    static func optional(_ value: String?) -> String { value.map { "=" + text($0) } ?? "" }
}

/// Reads packed lines from embedded text.
struct PackedReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var offset = 0
    private(set) var line = 0

    init(_ text: StaticString, file: String) {
        bytes = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        self.file = file
    }

    var atEnd: Bool { offset >= bytes.count }

    /// The fields of the next line (an empty array at the end).
    mutating func fields() -> [String] {
        guard !atEnd else { return [] }
        line += 1
        let (fields, next) = PackedReader.fields(bytes, at: offset)
        offset = next
        return fields
    }

    /// The first byte of the next line (its tag), `nil` at the end.
    var nextTag: UInt8? { atEnd ? nil : bytes[offset] }

    /// Passes over the next line without cutting it into fields; the range of its bytes (without the line end).
    mutating func skipLine() -> Range<Int> {
        line += 1
        let start = offset
        var end = bytes.count
        if let base = bytes.baseAddress, let found = memchr(base + start, 0x0A, bytes.count - start) {
            end = base.distance(to: UnsafeRawPointer(found))
        }
        offset = end + 1
        return start..<end
    }

    /// Where field `index` (from 0) of the line whose bytes are `line` is (still escaped); `nil` when the line has
    /// fewer fields.
    func fieldRange(_ index: Int, of line: Range<Int>) -> Range<Int>? {
        guard let base = bytes.baseAddress else { return nil }
        var start = line.lowerBound
        for _ in 0..<index {
            guard let tab = memchr(base + start, 0x09, line.upperBound - start) else { return nil }
            start = base.distance(to: UnsafeRawPointer(tab)) + 1
        }
        var end = line.upperBound
        if let tab = memchr(base + start, 0x09, line.upperBound - start) { end = base.distance(to: UnsafeRawPointer(tab)) }
        return start..<end
    }

    /// The fields of the line starting at `start`, and where the next line starts.
    ///
    /// Cut on bytes: splitting the line as a `String` went by `Character` and took 27 of the 50 ms that
    /// `ozgtrack regions show` spent at start (`perf record`, release build).
    static func fields(_ bytes: UnsafeRawBufferPointer, at start: Int) -> ([String], Int) {
        guard let base = bytes.baseAddress, start < bytes.count else { return ([], bytes.count) }
        var end = bytes.count
        if let found = memchr(base + start, 0x0A, bytes.count - start) { end = base.distance(to: UnsafeRawPointer(found)) }
        var fields: [String] = []
        fields.reserveCapacity(12)
        // Values are unescaped here, only on lines that hold a backslash at all (one in a thousand).
        let escaped = memchr(base + start, 0x5C, end - start) != nil
        var fieldStart = start
        while let tab = memchr(base + fieldStart, 0x09, end - fieldStart) {
            let fieldEnd = base.distance(to: UnsafeRawPointer(tab))
            fields.append(field(bytes, fieldStart..<fieldEnd, escaped: escaped))
            fieldStart = fieldEnd + 1
        }
        fields.append(field(bytes, fieldStart..<end, escaped: escaped))
        return (fields, end + 1)
    }

    static func field(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, escaped: Bool) -> String {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        return escaped ? unescape(text) : text
    }

    func error(_ expectation: String) -> InputError {
        InputError(file: file, line: line, message: "\(expectation): run scripts/pack-catalogue.sh to repack the catalogue")
    }

    /// A value written by ``PackedWriter/text(_:)``, as it was.
    static func unescape(_ field: String) -> String {
        guard field.utf8.contains(0x5C) else { return field }
        var out = ""
        var escaped = false
        for character in field.unicodeScalars {
            if escaped {
                switch character {
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                default: out.unicodeScalars.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A value written by ``PackedWriter/optional(_:)``.
    static func optional(_ field: String) -> String? { field.isEmpty ? nil : String(decoding: field.utf8.dropFirst(), as: UTF8.self) }
}
