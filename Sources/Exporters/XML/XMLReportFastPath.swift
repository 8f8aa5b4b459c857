import Foundation

/// A fast, conservative reader of XML reports as ozgtrack writes them: the import's fast path.
///
/// Why it exists: the ministry imports the reports of all its Gemeinden at once (`ozgtrack import *.xml`). Read
/// with libxml2's `xmlTextReader` and its streaming schema validation, the 1,101 reports of Baden-Württemberg
/// (613,257 entries, 370 MB) took 19.2 s to import against 1.9 s for the CSV import of the same rows; a
/// `perf record` of that import put half of all CPU time into libxml2 (reader, tree building, schema
/// validation) and most of the rest into the per-node work around it. No setting of libxml2 closes a 10× gap,
/// so this reader checks and reads the documents itself (see docs/performance.md, "The ministry's collection").
///
/// It is a *fast path*, never the judge: it accepts a document only when the document is well-formed and valid
/// against ``XMLReportSchema`` by construction of a deliberately narrow reading of both — the XML declaration
/// exactly as ozgtrack writes it, UTF-8, no comments, processing instructions, CDATA sections or DOCTYPE, no
/// carriage returns, no prefixes, the default namespace declared once on the root, typed values without
/// surrounding white space, and every element, attribute and value checked against the schema's types. On
/// anything else it answers `nil` and the caller reads the document with libxml2 as before, which then reports
/// exactly what it always did (file, line, field, value, expectation). So the fast path can make an import
/// faster, but never accepts a document libxml2 would refuse, and never reports anything itself.
///
/// What it extracts is what ``XMLEntryExtractor`` extracts from the same valid document: every `eintrag`
/// with its unit's key, its attributes and the text of `url`, `loesung` and `notiz`, with their lines.
struct XMLReportFastPath {
    /// The entries of a document the fast path accepted, in document order; `nil` when it did not accept it.
    static func entries(_ bytes: UnsafeBufferPointer<UInt8>, memory: Memory? = nil) -> FastEntries? {
        var scanner = Scanner(bytes: bytes, memory: memory)
        defer { scanner.deallocate() }
        return scanner.document() ? scanner.entries : nil
    }

    /// The largest document the fast path reads (held in memory while it is read): 64 MiB. A Gemeinde's report
    /// is about 350 KB, a Land's a few hundred MB: larger documents are streamed by libxml2.
    static let maxBytes = 64 << 20

    /// What the fast path remembers between the documents one thread reads: the bytes of the last header
    /// service list (``FastSchema/services``) it found valid. An element's validity depends only on its
    /// declaration and its bytes (no prefixes, no entities beyond the predefined ones, nothing of the element
    /// imported), so the same bytes under the same declaration are valid again and are compared, not checked.
    /// The list is 50 KB of a Gemeinde's 350 KB report; with this and the in-place attribute match the
    /// import's `perf record` samples fell from 11,046 to 10,563 (docs/performance.md).
    ///
    /// The same holds for the summary's coverage of each service (`abdeckung/leistung`, FastSchema/coverage): 46 %
    /// of a Gemeinde's report, and of the national collection's 10,751 reports 99.5 % of these elements are byte for
    /// byte one of the last four seen at the same place in the list (a Gemeinde's coverage of a service is one of
    /// a few combinations of counts and classes). So the thread keeps, for each place, the last four such
    /// elements it found valid and compares before it checks.
    final class Memory {
        fileprivate var services: [UInt8] = []
        fileprivate var servicesLines = 0
        /// For each place in the coverage list (up to ``coveragePlaces``), the last elements found valid there
        /// (at most ``coverageVariants``, each at most ``coverageBytes``): bounded whatever the documents hold.
        fileprivate var coverage: [[Remembered]] = []

        fileprivate struct Remembered {
            let bytes: [UInt8]
            let lines: Int
        }

        static let coveragePlaces = 4_096
        static let coverageVariants = 4
        static let coverageBytes = 2_048

        init() {}
    }
}

// MARK: - The schema, as the fast path knows it

/// A simple type of the schema (``XMLReportSchema``), checked on the value after entity decoding.
enum FastSimpleType {
    case string, einzeiler, notiz, url, dateTime, date, boolean, int, count, share, regionKey, ozgID, level, status,
        rowStatus, maturity, maturityModel, coverageClass, ozgIDList, fixedOne
}

/// The bytes of a name of the schema, kept for the life of the process (the schema is made once): an attribute
/// or particle copied in the scanner's loops then retains nothing.
func fastSchemaName(_ name: String) -> UnsafeBufferPointer<UInt8> {
    let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: name.utf8.count)
    _ = bytes.initialize(from: name.utf8)
    return UnsafeBufferPointer(bytes)
}

/// An attribute of an element: its name, type and whether it is required.
struct FastAttribute {
    let name: UnsafeBufferPointer<UInt8>
    let type: FastSimpleType
    let required: Bool
    /// The entry field the import reads from it (only on `einheit` and `eintrag`).
    let field: XMLEntry.Field?

    init(_ name: String, _ type: FastSimpleType, required: Bool = false, field: XMLEntry.Field? = nil) {
        self.name = fastSchemaName(name)
        self.type = type
        self.required = required
        self.field = field
    }
}

/// One element declaration: its content (element-only with a sequence of children, simple, or empty) and its
/// attributes.
final class FastElement: Sendable {
    enum Content {
        /// Element-only content: a sequence of particles (white space between them allowed).
        case sequence([FastParticle])
        /// Text of a simple type.
        case simple(FastSimpleType)
        /// Nothing at all (the fast path does not accept even white space here).
        case empty
    }

    /// What the import does with the element.
    enum Role {
        case none, unit, entry, field(XMLEntry.Field)
    }

    let content: Content
    let attributes: [FastAttribute]
    let role: Role
    /// Bit `i` set: `attributes[i]` is required (one test per element instead of a loop over the attributes).
    let required: UInt64

    init(_ content: Content, attributes: [FastAttribute] = [], role: Role = .none) {
        self.content = content
        self.attributes = attributes
        self.role = role
        required = attributes.enumerated().reduce(0) { $0 | ($1.element.required ? 1 << UInt64($1.offset) : 0) }
    }

    /// A simple element without attributes.
    static func simple(_ type: FastSimpleType, role: Role = .none) -> FastElement { FastElement(.simple(type), role: role) }
}

extension FastElement.Content: Sendable {}
extension FastElement.Role: Sendable {}
extension FastSimpleType: Sendable {}
/// Immutable: its name's bytes live as long as the process.
extension FastAttribute: @unchecked Sendable {}

/// A child element in a sequence, with how often it may occur.
struct FastParticle: @unchecked Sendable {
    /// Immutable bytes that live as long as the process (hence `@unchecked Sendable`).
    let name: UnsafeBufferPointer<UInt8>
    let element: FastElement
    let min: Int
    /// `Int.max` for unbounded.
    let max: Int

    init(_ name: String, _ element: FastElement, min: Int = 1, max: Int = 1) {
        self.name = fastSchemaName(name)
        self.element = element
        self.min = min
        self.max = max
    }
}

/// `ozgtrack-report-1.xsd`, declaration by declaration. Kept next to the schema's text by
/// `XMLReportFastPathTests`, which reads every fixture both ways.
enum FastSchema {
    static let unbounded = Int.max

    static let string = FastElement.simple(.string)
    static let count = FastElement.simple(.count)
    static let countWithShare = FastElement(.simple(.count), attributes: [FastAttribute("anteil", .share, required: true)])

    static let ausgabe = FastElement(
        .sequence([
            FastParticle("ausgabe", string), FastParticle("stand", .simple(.date)), FastParticle("quelle", string),
            FastParticle("lizenz", string),
        ]))
    static let kopf = FastElement(
        .sequence([
            FastParticle(
                "erzeuger",
                FastElement(.empty, attributes: [FastAttribute("name", .string, required: true), FastAttribute("version", .string, required: true)])),
            FastParticle("erstelltAm", .simple(.dateTime)),
            FastParticle("stichtag", .simple(.dateTime), min: 0),
            FastParticle("katalog", ausgabe),
            FastParticle("gebietsstand", ausgabe),
            FastParticle(
                "bereich",
                FastElement(
                    .sequence([
                        FastParticle("regionalschluessel", .simple(.regionKey), min: 0), FastParticle("name", string),
                        FastParticle("ebene", .simple(.level)),
                    ]))),
            FastParticle(
                "filter",
                FastElement(
                    .sequence([
                        FastParticle("themenfeld", .simple(.int), min: 0), FastParticle("nurKommunal", .simple(.boolean)),
                        FastParticle("status", .simple(.rowStatus), min: 0, max: unbounded),
                    ]))),
            FastParticle("herkunftEnthalten", .simple(.boolean)),
            FastParticle("berichtseinheiten", count),
            FastParticle("leistungen", services),
            FastParticle("zaehlweise", string),
        ]))

    /// The header's list of the catalogue's services: the same bytes in every report made with one catalogue
    /// (a sixth of a Gemeinde's report), so a thread checks it once (see ``XMLReportFastPath/Memory``).
    static let services = FastElement(
        .sequence([
            FastParticle(
                "leistung",
                FastElement(
                    .empty,
                    attributes: [
                        FastAttribute("ozgId", .ozgID, required: true), FastAttribute("bezeichnung", .string, required: true),
                        FastAttribute("themenfeld", .int, required: true),
                    ]), min: 0, max: unbounded)
        ]))

    static let entry = FastElement(
        .sequence([
            FastParticle("url", .simple(.url, role: .field(.url)), min: 0),
            FastParticle("loesung", .simple(.einzeiler, role: .field(.solution)), min: 0),
            FastParticle("notiz", .simple(.notiz, role: .field(.note)), min: 0),
        ]),
        attributes: [
            FastAttribute("ozgId", .ozgID, required: true, field: .service), FastAttribute("status", .status, field: .status),
            FastAttribute("reifegrad", .maturity, field: .maturity), FastAttribute("modell", .maturityModel, field: .maturityModel),
            FastAttribute("geplantZum", .date, field: .planned), FastAttribute("onlineSeit", .date, field: .onlineSince),
            FastAttribute("onlineEinschliesslichHoehererEbene", .boolean), FastAttribute("bereitgestelltDurch", .regionKey),
            FastAttribute("aktualisiertAm", .dateTime), FastAttribute("aktualisiertVon", .string), FastAttribute("quelle", .string),
        ],
        role: .entry)
    static let unit = FastElement(
        .sequence([FastParticle("eintrag", entry, min: 1, max: unbounded)]),
        attributes: [
            FastAttribute("regionalschluessel", .regionKey, required: true, field: .region), FastAttribute("name", .string, required: true),
            FastAttribute("ebene", .level, required: true), FastAttribute("berichtseinheit", .boolean, required: true),
        ],
        role: .unit)
    static let eintraege = FastElement(.sequence([FastParticle("einheit", unit, min: 0, max: unbounded)]))

    static let countingParticles = [
        FastParticle("leistungen", count), FastParticle("erfasst", count), FastParticle("nichtBegonnen", count),
        FastParticle("geplant", count), FastParticle("inUmsetzung", count), FastParticle("online", count),
        FastParticle("nichtZustaendig", count), FastParticle("relevant", count), FastParticle("onlineEigene", countWithShare),
        FastParticle("onlineEinschliesslichHoehererEbene", countWithShare), FastParticle("reifegradMindestens3", countWithShare),
        FastParticle("reifegradModell2", count),
    ]
    static let coverageDegree = FastElement(
        .empty,
        attributes: [
            FastAttribute("anzahl", .count, required: true), FastAttribute("anteil", .share, required: true),
            FastAttribute("klasse", .coverageClass, required: true),
        ])
    /// The summary's coverage of one service (`abdeckung/leistung`): the same bytes in many reports, so a thread
    /// compares them with those it checked before (see ``XMLReportFastPath/Memory``).
    static let coverage = FastElement(
        .sequence([FastParticle("eigene", coverageDegree), FastParticle("einschliesslichHoehererEbene", coverageDegree)]),
        attributes: [
            FastAttribute("ozgId", .ozgID, required: true), FastAttribute("bezeichnung", .string, required: true),
            FastAttribute("themenfeld", .int, required: true), FastAttribute("einheiten", .count, required: true),
            FastAttribute("relevanteEinheiten", .count, required: true),
        ])
    static let auswertung = FastElement(
        .sequence([
            FastParticle("gesamt", FastElement(.sequence(countingParticles))),
            FastParticle(
                "themenfeld",
                FastElement(
                    .sequence(countingParticles),
                    attributes: [FastAttribute("nummer", .int, required: true), FastAttribute("name", .string, required: true)]),
                min: 0, max: unbounded),
            FastParticle(
                "reifegradverteilung",
                FastElement(
                    .sequence([
                        FastParticle(
                            "stufe",
                            FastElement(
                                .empty,
                                attributes: [
                                    FastAttribute("modell", .maturityModel, required: true), FastAttribute("wert", .maturity, required: true),
                                    FastAttribute("anzahl", .count, required: true),
                                ]), min: 0, max: unbounded)
                    ]))),
            FastParticle("abdeckung", FastElement(.sequence([FastParticle("leistung", coverage, min: 0, max: unbounded)]))),
            FastParticle("nichtZugeordneteEintraege", count),
            FastParticle("eintraegeHoehererEbenen", count),
            FastParticle(
                "verlauf",
                FastElement(
                    .sequence([
                        FastParticle(
                            "stand",
                            FastElement(
                                .empty,
                                attributes: [
                                    FastAttribute("datum", .date, required: true), FastAttribute("relevant", .count, required: true),
                                    FastAttribute("onlineEigene", .count, required: true), FastAttribute("anteilEigene", .share, required: true),
                                    FastAttribute("onlineEinschliesslichHoehererEbene", .count, required: true),
                                    FastAttribute("anteilEinschliesslichHoehererEbene", .share, required: true),
                                ]), min: 0, max: unbounded)
                    ])), min: 0),
            FastParticle(
                "nachnutzung",
                FastElement(
                    .sequence([
                        FastParticle(
                            "loesung",
                            FastElement(
                                .empty,
                                attributes: [
                                    FastAttribute("name", .einzeiler, required: true), FastAttribute("einheiten", .count, required: true),
                                    FastAttribute("anteil", .share, required: true),
                                    FastAttribute("einheitenHoehererEbenen", .count, required: true),
                                    FastAttribute("eintraege", .count, required: true), FastAttribute("leistungen", .ozgIDList, required: true),
                                ]), min: 0, max: unbounded)
                    ])), min: 0),
        ]))

    /// The root element, `umsetzungsbericht` (its `xmlns` is checked by the scanner).
    static let root = FastElement(
        .sequence([FastParticle("kopf", kopf), FastParticle("eintraege", eintraege), FastParticle("auswertung", auswertung)]),
        attributes: [FastAttribute("version", .fixedOne, required: true)])
    static let rootName = Array("umsetzungsbericht".utf8)
    static let namespace = Array(XMLReportSchema.namespace.utf8)
}

// MARK: - The scanner

extension XMLReportFastPath {
    /// One open element: its declaration, where it is in its sequence, its text so far.
    private struct Frame {
        let element: FastElement
        let nameStart: Int
        let nameCount: Int
        let line: Int
        var particle = 0
        var occurrences = 0
    }

    /// The byte-level reader. Every method returns `false` (or `nil`) as soon as the document leaves the
    /// narrow form the fast path accepts; the caller then reads it with libxml2.
    fileprivate struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        var line = 1
        var entries = FastEntries()
        private var stack: [Frame] = []
        /// The value of the current attribute or the text of the current simple element: a span of the input
        /// when it needs no decoding (the usual case), else ``decoded``.
        private var value = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        /// Decoded values (references replaced, attribute white space normalised).
        private var decoded = DecodeBuffer()
        private var unitNumber = -1
        /// The key of the current unit, kept in ``entries``' arena once for all its entries.
        private var unitKey: FastEntries.Span?
        private let memory: Memory?
        /// The declarations whose elements the memory keeps (held here: a static's access per element costs).
        private let services = FastSchema.services
        private let coverage = FastSchema.coverage

        init(bytes: UnsafeBufferPointer<UInt8>, memory: Memory?) {
            self.bytes = bytes
            self.memory = memory
        }

        /// Whether the element starting at `start` is byte for byte the service list remembered as valid; if so,
        /// steps over it.
        private mutating func skipRemembered(from start: Int) -> Bool {
            guard let memory, !memory.services.isEmpty, start + memory.services.count <= bytes.count else { return false }
            let same = memory.services.withUnsafeBytes { remembered in
                guard let base = bytes.baseAddress, let other = remembered.baseAddress else { return false }
                return memcmp(base + start, other, remembered.count) == 0
            }
            guard same else { return false }
            position = start + memory.services.count
            line += memory.servicesLines
            return true
        }

        /// Whether the coverage element starting at `start` is byte for byte one remembered as valid at its place
        /// in the list; if so, steps over it. (The remembered bytes are a whole element: when the input starts with
        /// them, the element is exactly them.)
        private mutating func skipRememberedCoverage(from start: Int, place: Int) -> Bool {
            guard let memory, place < memory.coverage.count, let base = bytes.baseAddress else { return false }
            let last = memory.coverage[place].count - 1
            // The one that matched last time first: it is the last of its place.
            for slot in stride(from: last, through: 0, by: -1) {
                let same = memory.coverage[place][slot].bytes.withUnsafeBytes { other in
                    guard let address = other.baseAddress, start + other.count <= bytes.count else { return false }
                    return memcmp(base + start, address, other.count) == 0
                }
                guard same else { continue }
                position = start + memory.coverage[place][slot].bytes.count
                line += memory.coverage[place][slot].lines
                if slot != last { memory.coverage[place].swapAt(slot, last) }
                return true
            }
            return false
        }

        func deallocate() { decoded.deallocate() }

        static let declaration = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8)

        mutating func document() -> Bool {
            // The declaration exactly as ozgtrack writes it (anything else, a byte order mark included: libxml2).
            let declaration = Self.declaration
            guard bytes.count > declaration.count else { return false }
            for index in declaration.indices where bytes[index] != declaration[index] { return false }
            position = declaration.count
            skipSpace()
            // libxml2's path refuses a prolog over the limit, and a text or value over its own (10 MB).
            guard position <= XMLInputLimits.maxPrologBytes, peek(0) == UInt8(ascii: "<"), element(root: true) else { return false }
            skipSpace()
            return position == bytes.count
        }

        @inline(__always) private func peek(_ offset: Int) -> UInt8? {
            let index = position + offset
            return index < bytes.count ? bytes[index] : nil
        }

        /// Skips space, tab and line feed (a carriage return is left to libxml2's line-end handling).
        @inline(__always) private mutating func skipSpace() {
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x20 || byte == 0x09 {
                    position += 1
                } else if byte == 0x0A {
                    position += 1
                    line += 1
                } else {
                    return
                }
            }
        }

        /// A name of ASCII letters and digits, starting with a letter; `false` for anything else (prefixes,
        /// other name characters).
        private mutating func name() -> (start: Int, count: Int)? {
            let start = position
            guard position < bytes.count, isLetter(bytes[position]) else { return nil }
            position += 1
            while position < bytes.count, isLetter(bytes[position]) || isDigit(bytes[position]) { position += 1 }
            if position < bytes.count {
                let next = bytes[position]
                // Other name characters (':', '-', '.', '_', non-ASCII) are left to libxml2.
                if next == UInt8(ascii: ":") || next == UInt8(ascii: "-") || next == UInt8(ascii: ".") || next == UInt8(ascii: "_")
                    || next >= 0x80
                {
                    return nil
                }
            }
            return (start, position - start)
        }

        @inline(__always) private func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
        @inline(__always) private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

        /// Whether the `count` bytes at `start` are `name` (the schema's names, and the two the scanner knows itself).
        private func equals<Name: RandomAccessCollection<UInt8>>(_ start: Int, _ count: Int, _ name: Name) -> Bool
        where Name.Index == Int {
            guard count == name.count else { return false }
            for index in 0..<count where bytes[start + index] != name[index] { return false }
            return true
        }

        /// Reads one element, from its `<` to the end of its end tag.
        private mutating func element(root: Bool = false) -> Bool {
            // The element's declaration, found in the parent's sequence.
            let startLine = line
            let elementStart = position
            position += 1
            guard let (nameStart, nameCount) = name() else { return false }
            let declaration: FastElement
            if root {
                guard equals(nameStart, nameCount, FastSchema.rootName) else { return false }
                declaration = FastSchema.root
            } else {
                guard let found = child(nameStart, nameCount) else { return false }
                declaration = found
            }
            let remembered = declaration === services
            if remembered && skipRemembered(from: elementStart) { return true }
            // The place of a coverage element in its list, when the memory keeps that place.
            var coveragePlace: Int?
            if declaration === coverage, memory != nil, let parent = stack.last,
                parent.occurrences <= Memory.coveragePlaces
            {
                let place = parent.occurrences - 1
                coveragePlace = place
                if skipRememberedCoverage(from: elementStart, place: place) { return true }
            }
            switch declaration.role {
            case .unit:
                unitNumber += 1
                unitKey = nil
            case .entry:
                entries.begin(line: startLine, unit: unitNumber)
                if let unitKey { entries.set(.region, unitKey) }
            default:
                break
            }
            // Attributes.
            var seen: UInt64 = 0
            /// Where the next attribute is looked for first: ozgtrack writes them in the order of the declaration.
            var expected = 0
            var namespaceDeclared = false
            var isEmpty = false
            while true {
                let before = position
                skipSpace()
                guard position < bytes.count else { return false }
                let byte = bytes[position]
                if byte == UInt8(ascii: ">") {
                    position += 1
                    break
                }
                if byte == UInt8(ascii: "/") {
                    guard peek(1) == UInt8(ascii: ">") else { return false }
                    position += 2
                    isEmpty = true
                    break
                }
                // Attributes are separated by white space.
                guard position > before else { return false }
                let index: Int
                if let length = nameHere(expected, of: declaration) {
                    // The attribute expected next, directly followed by '=' (the usual case: one comparison).
                    position += length + 1
                    skipSpace()
                    guard attributeValue() else { return false }
                    index = expected
                } else {
                    guard let (attributeStart, attributeCount) = name() else { return false }
                    skipSpace()
                    guard peek(0) == UInt8(ascii: "=") else { return false }
                    position += 1
                    skipSpace()
                    guard attributeValue() else { return false }
                    if root, equals(attributeStart, attributeCount, Self.xmlns) {
                        guard !namespaceDeclared, value.elementsEqual(FastSchema.namespace) else { return false }
                        namespaceDeclared = true
                        continue
                    }
                    guard let found = attribute(attributeStart, attributeCount, of: declaration, from: expected) else { return false }
                    index = found
                }
                expected = index + 1
                let bit: UInt64 = 1 << UInt64(index)
                guard seen & bit == 0 else { return false }
                seen |= bit
                let attribute = declaration.attributes[index]
                guard Self.isValid(value, attribute.type) else { return false }
                if let field = attribute.field {
                    switch declaration.role {
                    case .unit: unitKey = entries.keep(value, line: startLine)
                    case .entry: entries.set(field, entries.keep(value, line: startLine))
                    default: break
                    }
                }
            }
            if root && !namespaceDeclared { return false }
            guard seen & declaration.required == declaration.required else { return false }
            // Content.
            switch declaration.content {
            case .empty:
                guard isEmpty || endTag(nameStart, nameCount) else { return false }
            case .simple(let type):
                value = UnsafeBufferPointer(start: nil, count: 0)
                if !isEmpty {
                    guard text() else { return false }
                    guard peek(0) == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "/"), endTag(nameStart, nameCount) else { return false }
                }
                guard Self.isValid(value, type) else { return false }
                if case .field(let field) = declaration.role {
                    entries.set(field, entries.keep(value, line: startLine))
                }
            case .sequence(let particles):
                stack.append(Frame(element: declaration, nameStart: nameStart, nameCount: nameCount, line: startLine))
                if !isEmpty {
                    while true {
                        let before = position
                        skipSpace()
                        guard position - before <= Self.maxValueBytes, peek(0) == UInt8(ascii: "<") else { return false }
                        if peek(1) == UInt8(ascii: "/") { break }
                        guard element() else { return false }
                    }
                    guard endTag(nameStart, nameCount) else { return false }
                }
                guard let frame = stack.popLast(), Self.isComplete(frame, particles) else { return false }
            }
            if remembered, let memory {
                memory.services = Array(UnsafeBufferPointer(rebasing: bytes[elementStart..<position]))
                memory.servicesLines = line - startLine
            }
            if let coveragePlace, let memory, position - elementStart <= Memory.coverageBytes {
                while memory.coverage.count <= coveragePlace { memory.coverage.append([]) }
                if memory.coverage[coveragePlace].count >= Memory.coverageVariants { memory.coverage[coveragePlace].removeFirst() }
                memory.coverage[coveragePlace].append(
                    Memory.Remembered(bytes: Array(UnsafeBufferPointer(rebasing: bytes[elementStart..<position])), lines: line - startLine))
            }
            return true
        }

        static let xmlns = Array("xmlns".utf8)

        /// The length of the name of the declaration's attribute `index` when that name, directly followed by
        /// `=`, is at the current position.
        @inline(__always) private func nameHere(_ index: Int, of declaration: FastElement) -> Int? {
            let attributes = declaration.attributes
            guard index < attributes.count else { return nil }
            let name = attributes[index].name
            let count = name.count
            guard position + count < bytes.count, bytes[position + count] == UInt8(ascii: "=") else { return nil }
            for offset in 0..<count where bytes[position + offset] != name[offset] { return nil }
            return count
        }

        /// The index of the attribute named so among the declaration's, looked for from `first` on, then before.
        private func attribute(_ start: Int, _ count: Int, of declaration: FastElement, from first: Int) -> Int? {
            let attributes = declaration.attributes
            var index = first
            for _ in 0..<attributes.count {
                if index >= attributes.count { index = 0 }
                if equals(start, count, attributes[index].name) { return index }
                index += 1
            }
            return nil
        }

        /// The declaration of the child named so in the open element's sequence; advances the sequence.
        private mutating func child(_ start: Int, _ count: Int) -> FastElement? {
            // The open element's frame is updated in place (no pop and push of the frame per child).
            let top = stack.count - 1
            guard top >= 0, case .sequence(let particles) = stack[top].element.content else { return nil }
            var index = stack[top].particle
            var occurrences = stack[top].occurrences
            defer {
                stack[top].particle = index
                stack[top].occurrences = occurrences
            }
            while index < particles.count {
                if equals(start, count, particles[index].name), occurrences < particles[index].max {
                    occurrences += 1
                    return particles[index].element
                }
                guard occurrences >= particles[index].min else { return nil }
                index += 1
                occurrences = 0
            }
            return nil
        }

        /// Whether the sequence may end here.
        private static func isComplete(_ frame: Frame, _ particles: [FastParticle]) -> Bool {
            var index = frame.particle
            if index < particles.count {
                guard frame.occurrences >= particles[index].min else { return false }
                index += 1
            }
            while index < particles.count {
                guard particles[index].min == 0 else { return false }
                index += 1
            }
            return true
        }

        /// `</name>` (white space before `>` allowed).
        private mutating func endTag(_ nameStart: Int, _ nameCount: Int) -> Bool {
            guard peek(0) == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "/") else { return false }
            position += 2
            guard let (start, count) = name(), count == nameCount else { return false }
            for index in 0..<count where bytes[start + index] != bytes[nameStart + index] { return false }
            skipSpace()
            guard peek(0) == UInt8(ascii: ">") else { return false }
            position += 1
            return true
        }

        /// A quoted attribute value, decoded and normalised (tab and line feed become spaces) into `value`.
        private mutating func attributeValue() -> Bool {
            guard let quote = peek(0), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return false }
            position += 1
            let start = position
            // In place while nothing needs decoding.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == quote {
                    value = UnsafeBufferPointer(rebasing: bytes[start..<position])
                    position += 1
                    return true
                }
                if byte >= 0x80 {
                    guard validCharacter() else { return false }
                    continue
                }
                if byte < 0x20 || byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") { break }
                position += 1
            }
            decoded.removeAll()
            decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                if byte == quote {
                    position += 1
                    return finishDecoded()
                }
                switch byte {
                case UInt8(ascii: "<"):
                    return false
                case UInt8(ascii: "&"):
                    guard reference() else { return false }
                case 0x09:
                    decoded.append(0x20)
                    position += 1
                case 0x0A:
                    decoded.append(0x20)
                    position += 1
                    line += 1
                case 0x00..<0x20:
                    return false
                case 0x80...:
                    let first = position
                    guard validCharacter() else { return false }
                    decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[first..<position]))
                default:
                    decoded.append(byte)
                    position += 1
                }
            }
            return false
        }

        /// Points `value` at ``decoded`` (valid until the next attribute value or text is decoded).
        private mutating func finishDecoded() -> Bool {
            value = decoded.buffer
            return true
        }

        /// Character data up to the next `<`, in place or decoded, as `value`.
        private mutating func text() -> Bool {
            let start = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "<") {
                    value = UnsafeBufferPointer(rebasing: bytes[start..<position])
                    return true
                }
                if byte >= 0x80 {
                    guard validCharacter() else { return false }
                    continue
                }
                if byte == 0x0A {
                    line += 1
                } else if (byte < 0x20 && byte != 0x09) || byte == UInt8(ascii: "&") {
                    break
                } else if byte == UInt8(ascii: "]"), peek(1) == UInt8(ascii: "]"), peek(2) == UInt8(ascii: ">") {
                    // "]]>" is not allowed in character data.
                    return false
                }
                position += 1
            }
            guard position < bytes.count, bytes[position] == UInt8(ascii: "&") else { return false }
            decoded.removeAll()
            decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "<"):
                    return finishDecoded()
                case UInt8(ascii: "&"):
                    guard reference() else { return false }
                case 0x0A:
                    decoded.append(byte)
                    position += 1
                    line += 1
                case 0x09:
                    decoded.append(byte)
                    position += 1
                case 0x00..<0x20:
                    return false
                case UInt8(ascii: "]"):
                    if peek(1) == UInt8(ascii: "]"), peek(2) == UInt8(ascii: ">") { return false }
                    decoded.append(byte)
                    position += 1
                case 0x80...:
                    let first = position
                    guard validCharacter() else { return false }
                    decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[first..<position]))
                default:
                    decoded.append(byte)
                    position += 1
                }
            }
            return false
        }

        /// Steps over one multi-byte UTF-8 character that XML allows.
        private mutating func validCharacter() -> Bool {
            let first = bytes[position]
            let length: Int
            var scalar: UInt32
            switch first {
            case 0xC2...0xDF:
                length = 2
                scalar = UInt32(first & 0x1F)
            case 0xE0...0xEF:
                length = 3
                scalar = UInt32(first & 0x0F)
            case 0xF0...0xF4:
                length = 4
                scalar = UInt32(first & 0x07)
            default:
                return false
            }
            guard position + length <= bytes.count else { return false }
            for offset in 1..<length {
                let byte = bytes[position + offset]
                guard byte & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(byte & 0x3F)
            }
            // Overlong forms, surrogates, beyond U+10FFFF, and the non-characters U+FFFE/U+FFFF.
            switch length {
            case 3 where scalar < 0x800 || (0xD800...0xDFFF).contains(scalar) || scalar == 0xFFFE || scalar == 0xFFFF: return false
            case 4 where scalar < 0x10000 || scalar > 0x10FFFF: return false
            default: break
            }
            position += length
            return true
        }

        /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;` or a character reference to a character XML allows,
        /// appended to ``decoded`` as UTF-8.
        private mutating func reference() -> Bool {
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != UInt8(ascii: ";") {
                position += 1
                if position - start > 10 { return false }
            }
            guard position < bytes.count else { return false }
            let count = position - start
            position += 1
            if count >= 2, bytes[start] == UInt8(ascii: "#") {
                var scalar: UInt32 = 0
                if bytes[start + 1] == UInt8(ascii: "x") {
                    guard count >= 3 else { return false }
                    for index in (start + 2)..<(start + count) {
                        let byte = bytes[index]
                        let digit: UInt32
                        switch byte {
                        case 0x30...0x39: digit = UInt32(byte - 0x30)
                        case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                        case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                        default: return false
                        }
                        scalar = scalar * 16 + digit
                    }
                } else {
                    for index in (start + 1)..<(start + count) {
                        guard isDigit(bytes[index]) else { return false }
                        scalar = scalar * 10 + UInt32(bytes[index] - 0x30)
                    }
                }
                guard scalar <= 0x10FFFF, let character = Unicode.Scalar(scalar) else { return false }
                switch scalar {
                case 0x09, 0x0A, 0x0D: break
                case 0..<0x20, 0xFFFE, 0xFFFF: return false
                default: break
                }
                decoded.append(contentsOf: String(Character(character)).utf8)
                return true
            }
            let name = UnsafeBufferPointer(rebasing: bytes[start..<(start + count)])
            switch count {
            case 2 where name[0] == UInt8(ascii: "l") && name[1] == UInt8(ascii: "t"): decoded.append(UInt8(ascii: "<"))
            case 2 where name[0] == UInt8(ascii: "g") && name[1] == UInt8(ascii: "t"): decoded.append(UInt8(ascii: ">"))
            case 3 where name.elementsEqual("amp".utf8): decoded.append(UInt8(ascii: "&"))
            case 4 where name.elementsEqual("quot".utf8): decoded.append(UInt8(ascii: "\""))
            case 4 where name.elementsEqual("apos".utf8): decoded.append(UInt8(ascii: "'"))
            default: return false
            }
            return true
        }

        // MARK: Simple types

        /// Whether `value` is valid for `type` in the narrow form the fast path accepts (typed values without
        /// white space around them; libxml2 judges the rest).
        static func isValid(_ value: UnsafeBufferPointer<UInt8>, _ type: FastSimpleType) -> Bool {
            guard value.count <= maxValueBytes else { return false }
            switch type {
            case .string: return true
            case .einzeiler: return characterCount(value) <= 500
            case .notiz: return characterCount(value) <= 4000
            case .url: return isURL(value)
            case .dateTime: return isDateTime(value)
            case .date: return value.count == 10 && isDate(value, 0)
            case .boolean:
                return value.elementsEqual(Self.trueBytes) || value.elementsEqual(Self.falseBytes) || isOne(value, 0x31) || isOne(value, 0x30)
            case .int:
                // Up to nine digits: within xs:int whatever they are.
                let digits = value.first == UInt8(ascii: "-") ? value.dropFirst() : value[...]
                return !digits.isEmpty && digits.count <= 9 && digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            case .count: return !value.isEmpty && value.count <= 18 && value.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            case .share: return isShare(value)
            case .regionKey: return [2, 3, 5, 8, 9].contains(value.count) && value.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            case .ozgID: return value.count == 5 && value.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            case .level: return Self.levels.contains { value.elementsEqual($0) }
            case .status: return Self.statuses.contains { value.elementsEqual($0) }
            case .rowStatus: return Self.statuses.contains { value.elementsEqual($0) } || value.elementsEqual(Self.untracked)
            case .maturity: return value.count == 1 && value[0] >= 0x30 && value[0] <= 0x37
            case .maturityModel: return isOne(value, 0x31) || isOne(value, 0x32)
            case .coverageClass: return Self.classes.contains { value.elementsEqual($0) }
            case .ozgIDList:
                // Five-digit keys separated by single spaces.
                guard value.count % 6 == 5 else { return false }
                for (index, byte) in value.enumerated() {
                    if index % 6 == 5 {
                        guard byte == 0x20 else { return false }
                    } else {
                        guard byte >= 0x30 && byte <= 0x39 else { return false }
                    }
                }
                return true
            case .fixedOne: return isOne(value, 0x31)
            }
        }

        /// The longest value or text the fast path takes: 1 MB (libxml2 refuses text nodes over 10 MB without
        /// `XML_PARSE_HUGE`; the schema's longest bounded value, a note, has 4,000 characters).
        static let maxValueBytes = 1 << 20

        /// Whether `value` is the one byte `byte`.
        static func isOne(_ value: UnsafeBufferPointer<UInt8>, _ byte: UInt8) -> Bool { value.count == 1 && value[0] == byte }

        static let trueBytes = Array("true".utf8)
        static let falseBytes = Array("false".utf8)
        static let untracked = Array("untracked".utf8)
        static let levels = ["land", "bezirk", "kreis", "verband", "gemeinde", "gemeindefrei", "bund"].map { Array($0.utf8) }
        static let statuses = ["not_started", "planned", "in_progress", "online", "not_applicable"].map { Array($0.utf8) }
        static let classes = ["flaechendeckend", "mindestens_eine", "keine"].map { Array($0.utf8) }

        /// The number of characters (not bytes) of valid UTF-8.
        static func characterCount(_ value: UnsafeBufferPointer<UInt8>) -> Int {
            var count = 0
            for byte in value where byte & 0xC0 != 0x80 { count += 1 }
            return count
        }

        /// `[hH][tT][tT][pP]([sS])?://[^\s/?#]\S*`, at most 2048 characters.
        static func isURL(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
            guard value.count >= 8, characterCount(value) <= 2048 else { return false }
            guard value[0] | 0x20 == UInt8(ascii: "h"), value[1] | 0x20 == UInt8(ascii: "t"), value[2] | 0x20 == UInt8(ascii: "t"),
                value[3] | 0x20 == UInt8(ascii: "p")
            else { return false }
            var index = 4
            if value[index] | 0x20 == UInt8(ascii: "s") { index += 1 }
            guard index + 3 < value.count, value[index] == UInt8(ascii: ":"), value[index + 1] == UInt8(ascii: "/"),
                value[index + 2] == UInt8(ascii: "/")
            else { return false }
            index += 3
            let first = value[index]
            guard first != UInt8(ascii: "/"), first != UInt8(ascii: "?"), first != UInt8(ascii: "#") else { return false }
            for byte in value[index...] where byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { return false }
            return true
        }

        /// `YYYY-MM-DD` at `offset`: a real day of a year from 0001.
        static func isDate(_ value: UnsafeBufferPointer<UInt8>, _ offset: Int) -> Bool {
            guard value.count >= offset + 10, value[offset + 4] == UInt8(ascii: "-"), value[offset + 7] == UInt8(ascii: "-"),
                let year = number(value, offset, 4), let month = number(value, offset + 5, 2), let day = number(value, offset + 8, 2)
            else { return false }
            guard year >= 1, (1...12).contains(month), day >= 1 else { return false }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            return day <= days
        }

        /// `YYYY-MM-DDThh:mm:ssZ` as ozgtrack writes it (hours 00–23).
        static func isDateTime(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
            guard value.count == 20, isDate(value, 0), value[10] == UInt8(ascii: "T"), value[13] == UInt8(ascii: ":"),
                value[16] == UInt8(ascii: ":"), value[19] == UInt8(ascii: "Z"), let hour = number(value, 11, 2),
                let minute = number(value, 14, 2), let second = number(value, 17, 2)
            else { return false }
            return hour < 24 && minute < 60 && second < 60
        }

        /// A decimal between 0 and 100 with at most one fraction digit: `[0-9]{1,3}(\.[0-9])?`.
        static func isShare(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
            let point = value.firstIndex(of: UInt8(ascii: "."))
            let integerCount = point ?? value.count
            guard (1...3).contains(integerCount), let integer = number(value, 0, integerCount) else { return false }
            var fraction = 0
            if let point {
                guard value.count == point + 2, let digit = number(value, point + 1, 1) else { return false }
                fraction = digit
            }
            return integer < 100 || (integer == 100 && fraction == 0)
        }

        /// The decimal number of `count` ASCII digits at `offset`.
        static func number(_ value: UnsafeBufferPointer<UInt8>, _ offset: Int, _ count: Int) -> Int? {
            var result = 0
            for index in offset..<(offset + count) {
                let byte = value[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                result = result * 10 + Int(byte - 0x30)
            }
            return result
        }
    }
}

/// A growable byte buffer whose storage stays put until it grows: the decoded value that ``XMLReportFastPath``
/// checks through a buffer pointer.
private struct DecodeBuffer {
    private var base = UnsafeMutablePointer<UInt8>.allocate(capacity: 4_096)
    private var capacity = 4_096
    private var count = 0

    var buffer: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    mutating func removeAll() { count = 0 }

    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = byte
        count += 1
    }

    mutating func append(contentsOf bytes: some Collection<UInt8>) {
        if count + bytes.count > capacity { grow(count + bytes.count) }
        for byte in bytes {
            base[count] = byte
            count += 1
        }
    }

    private mutating func grow(_ needed: Int) {
        let larger = max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    func deallocate() { base.deallocate() }
}
