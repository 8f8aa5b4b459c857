/// Checks the values of import rows and command-line options against the catalogue and the registry.
///
/// Every check throws an ``InputError`` that names the field, the value and what was expected; readers add
/// the file and line. Keys are resolved to their canonical form (an ARS becomes its AGS).
public final class RecordValidator {
    public let catalogue: Catalogue
    /// Whether rows with a region or OZG-ID unknown to the loaded editions are skipped (and listed as
    /// warnings) rather than refused.
    public let skipUnknown: Bool
    /// What was skipped, for the summary (at most ``warningLimit`` kept; ``skippedCount`` counts all).
    public private(set) var warnings: [String] = []
    public private(set) var skippedCount = 0
    public let warningLimit = 50

    private var lastRegion: (text: String, key: RegionKey)?
    private var regionCache: [String: RegionKey] = [:]
    private let knownServices: [Bool]

    public init(catalogue: Catalogue, skipUnknown: Bool = false) {
        self.catalogue = catalogue
        self.skipUnknown = skipUnknown
        var known = [Bool](repeating: false, count: 100_000)
        for service in catalogue.services.services { known[service.id.value] = true }
        knownServices = known
    }

    /// Records that a row was skipped.
    public func skip(_ message: String) {
        skippedCount += 1
        if warnings.count < warningLimit { warnings.append(message) }
    }

    /// The canonical key of the unit `text` names; `nil` when unknown and ``skipUnknown`` is set.
    public func region(_ text: String, field: String = "region") throws(InputError) -> RegionKey? {
        if let lastRegion, lastRegion.text == text { return lastRegion.key }
        if let cached = regionCache[text] {
            lastRegion = (text, cached)
            return cached
        }
        let key: RegionKey
        do {
            key = try RegionKey(text)
        } catch {
            throw error.inField(field)
        }
        guard let region = catalogue.regions.resolve(key) else {
            let message =
                "\(text.quotedForMessage) is not in the territory edition \(catalogue.regions.date): expected a key of the registry"
            if skipUnknown { return nil }
            throw InputError(.unknownKey, field: field, message: message)
        }
        if regionCache.count < 100_000 { regionCache[text] = region.key }
        lastRegion = (text, region.key)
        return region.key
    }

    /// The OZG-ID `text` names; `nil` when it is not in the catalogue and ``skipUnknown`` is set.
    public func service(_ text: String, field: String = "ozg_id") throws(InputError) -> OZGID? {
        let id: OZGID
        do {
            id = try OZGID(text)
        } catch {
            throw error.inField(field)
        }
        guard knownServices[id.value] else {
            if skipUnknown { return nil }
            throw InputError(
                .unknownKey, field: field,
                message: "'\(id)' is not in the OZG catalogue (\(catalogue.services.edition.date)): expected an OZG-ID of the "
                    + "catalogue (or load a newer edition of the catalogue)")
        }
        return id
    }

    /// The OZG-ID with numeric value `value` (0 … 99999) when the catalogue has it, else `nil` (the caller then
    /// goes through ``service(_:field:)``, which words the error or skips). For readers that parsed the five
    /// digits themselves: a national import asks this six million times.
    func knownService(_ value: Int) -> OZGID? {
        guard value >= 0, value < knownServices.count, knownServices[value] else { return nil }
        return OZGID(value: value)
    }

    /// A status, `nil` for an empty value.
    public func status(_ text: String) throws(InputError) -> Status? {
        if text.isEmpty { return nil }
        if let fast = Status(rawValue: text) { return fast }
        do {
            return try Status(parsing: text)
        } catch {
            throw error.inField("status")
        }
    }

    /// A Reifegrad level (checked against its model when the record is complete), `nil` for empty.
    public func maturity(_ text: String) throws(InputError) -> Int? {
        if text.isEmpty { return nil }
        guard Digits.all(text), text.utf8.count <= 2, let level = Int(text) else {
            throw InputError(field: "maturity", message: "\(text.quotedForMessage) is not a Reifegrad: expected a level 0-4 (model 1) or 0-7 (model 2)")
        }
        guard level <= 7 else {
            throw InputError(field: "maturity", message: "'\(level)' is out of range: expected 0-4 (model 1) or 0-7 (model 2)")
        }
        return level
    }

    /// A maturity model, `nil` for empty.
    public func maturityModel(_ text: String) throws(InputError) -> MaturityModel? {
        if text.isEmpty { return nil }
        do {
            return try MaturityModel(parsing: text)
        } catch {
            throw error.inField("maturity_model")
        }
    }

    /// A date, `nil` for empty.
    public func date(_ text: String, field: String) throws(InputError) -> ISODate? {
        if text.isEmpty { return nil }
        guard let date = ISODate(text) else {
            throw InputError(field: field, message: "\(text.quotedForMessage) is not a date: expected a real date written YYYY-MM-DD")
        }
        return date
    }

    /// A URL, `nil` for empty.
    public func url(_ text: String) throws(InputError) -> String? {
        if text.isEmpty { return nil }
        do {
            return try RecordValues.validateURL(text)
        } catch {
            throw error.inField("url")
        }
    }

    /// A one-line text (solution) or a multi-line text (note), `nil` for empty.
    public func text(_ text: String, field: RecordField) throws(InputError) -> String? {
        if text.isEmpty { return nil }
        do {
            return field == .note
                ? try RecordValues.validateText(text, limit: RecordValues.maxNoteLength, multiline: true)
                : try RecordValues.validateText(text, limit: RecordValues.maxSolutionLength, multiline: false)
        } catch {
            throw error.inField(field.rawValue)
        }
    }

    /// A full update from the text of each field (as in the CSV format; missing fields are "not given").
    public func update(_ fields: [RecordField: String]) throws(InputError) -> RecordUpdate {
        RecordUpdate(
            status: try status(fields[.status] ?? ""), maturity: try maturity(fields[.maturity] ?? ""),
            maturityModel: try maturityModel(fields[.maturityModel] ?? ""),
            planned: try date(fields[.planned] ?? "", field: "planned"),
            onlineSince: try date(fields[.onlineSince] ?? "", field: "online_since"), url: try url(fields[.url] ?? ""),
            solution: try text(fields[.solution] ?? "", field: .solution), note: try text(fields[.note] ?? "", field: .note))
    }
}

/// Finds the same record twice among the rows of one import, in little memory.
///
/// Keys are packed into 64-bit integers (``PackedRegionKey`` and the OZG-ID), which order like the keys. While
/// rows arrive in key order (as in a dump), they are appended to a sorted array and found by binary search; rows
/// out of order go to a hash table. A national import of six million sorted rows so needs about 70 MB instead of
/// the 400 MB a set of `RecordKey`s would take. The file of a sorted key is kept once per run of keys from one
/// file, so that the ministry's collection (10,751 files, one per Gemeinde) needs no more.
struct DuplicateDetector {
    private var sortedKeys: [UInt64] = []
    /// The line of each sorted key (`UInt32.max`: the line is in ``longLines``).
    private var sortedLines: [UInt32] = []
    /// Where the sorted keys of one file begin: `sortedKeys[i]` comes from the file of the last run starting at
    /// or before `i`.
    private var runs: [(start: Int, file: Int)] = []
    private var longLines: [Int: Int] = [:]
    private var others: [UInt64: UInt32] = [:]
    private var references: [(file: String, line: Int)] = []
    private var files: [String] = []
    private var fileIndex: [String: Int] = [:]
    /// The file of the row before (rows come file by file: no hashing of its name per row).
    private var lastFile: (name: String, index: Int)?
    /// The rows likely to come in all (``reserve(_:likely:)``); 0 when unknown.
    private var likelyRows = 0
    /// Whether ``others`` was sized for the rest of the input already.
    private var othersSized = false
    /// From this many keys out of order on, if they outnumber the sorted ones (the input is not sorted), the hash
    /// table is made large enough at once for the rows likely still to come. Grown by doubling, its last step held
    /// the old and the new table together: a national file in random key order (5,988,307 rows) peaked at 214 MB on
    /// SQLite and 224 MB on PostgreSQL (`/usr/bin/time -v`, session 7), the table alone ≈ 150 MB of it for a final
    /// size of ≈ 100 MB. A mostly sorted input (a collection whose files come out of order) never gets there and
    /// keeps its small table.
    static let shuffledThreshold = 1 << 18
    /// The share of the likely rows the table is sized for: the table rounds its size up to a power of two (six
    /// million keys fit the size made for 5.4 million), and a likely count too high by a few per cent must not
    /// make it twice as large as needed (sized for the generous upper estimate of ``reserve(_:likely:)``, it took
    /// the national import to 470–480 MB).
    static let likelyShare = 0.9

    /// Packs a record key: its packed region key (below 2³⁴) and the OZG-ID (below 2¹⁷).
    static func pack(_ key: RecordKey) -> UInt64 {
        pack(region: PackedRegionKey(key.region), service: key.service)
    }

    /// Packs a record key whose region is packed already.
    static func pack(region: PackedRegionKey, service: OZGID) -> UInt64 {
        UInt64(region.rawValue) << 17 | UInt64(service.value)
    }

    /// Notes `key` at `file:line`; returns where it was seen first if it is a repeat.
    mutating func insert(_ key: RecordKey, file: String, line: Int) -> (file: String, line: Int)? {
        insert(packed: Self.pack(key), file: file, line: line)
    }

    /// Makes room for `rows` more keys at once. Room that stays unused costs address space, not memory (the
    /// system gives pages when they are first written); growing by doubling instead copied the keys found so far
    /// each time, and at the last step of the national import (4.2 million keys) both copies were resident
    /// together: 48 MB more at the import's peak (page faults in `perf record -e page-faults`: two thirds of the
    /// national PostgreSQL import's in the detector, its peak 190–196 MB instead of 160 MB).
    ///
    /// `likely` (0: unknown) sizes the table of keys out of order once the input turns out not to be sorted
    /// (``shuffledThreshold``).
    mutating func reserve(_ rows: Int, likely: Int = 0) {
        guard rows > 0, rows <= Int(UInt32.max) else { return }
        likelyRows += min(max(likely, 0), rows)
        sortedKeys.reserveCapacity(sortedKeys.count + rows)
        sortedLines.reserveCapacity(sortedLines.count + rows)
    }

    /// Notes the key packed by ``pack(_:)`` at `file:line`; returns where it was seen first if it is a repeat.
    mutating func insert(packed: UInt64, file: String, line: Int) -> (file: String, line: Int)? {
        let index = index(of: file)
        if let last = sortedKeys.last, packed <= last {
            if let position = find(packed) { return sortedPlace(position) }
            if let existing = others[packed] { return resolve(existing) }
            if !othersSized, others.count >= Self.shuffledThreshold, others.count > sortedKeys.count {
                othersSized = true
                let rest = Int(Double(likelyRows - sortedKeys.count) * Self.likelyShare)
                if rest > others.count { others.reserveCapacity(rest) }
            }
            others[packed] = reference(file: index, line: line)
            return nil
        }
        if runs.last?.file != index { runs.append((sortedKeys.count, index)) }
        if line < Int(UInt32.max) {
            sortedLines.append(UInt32(line))
        } else {
            longLines[sortedLines.count] = line
            sortedLines.append(UInt32.max)
        }
        sortedKeys.append(packed)
        return nil
    }

    private mutating func index(of file: String) -> Int {
        if let lastFile, lastFile.name == file { return lastFile.index }
        let index: Int
        if let known = fileIndex[file] {
            index = known
        } else {
            index = files.count
            files.append(file)
            fileIndex[file] = index
        }
        lastFile = (file, index)
        return index
    }

    private func find(_ packed: UInt64) -> Int? {
        var low = 0
        var high = sortedKeys.count
        while low < high {
            let middle = (low + high) / 2
            if sortedKeys[middle] < packed { low = middle + 1 } else { high = middle }
        }
        return low < sortedKeys.count && sortedKeys[low] == packed ? low : nil
    }

    /// The file and line of the sorted key at `position`.
    private func sortedPlace(_ position: Int) -> (file: String, line: Int) {
        var low = 0
        var high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if runs[middle].start <= position { low = middle + 1 } else { high = middle }
        }
        let line = sortedLines[position] == UInt32.max ? longLines[position, default: 0] : Int(sortedLines[position])
        return (files[runs[low - 1].file], line)
    }

    /// Lines of keys out of order are stored as 24 bits with an 8-bit file number where they fit; others are
    /// kept aside.
    private mutating func reference(file index: Int, line: Int) -> UInt32 {
        if index < 255 && line < 1 << 24 { return UInt32(index) << 24 | UInt32(line) }
        references.append((files[index], line))
        return UInt32(0xFF00_0000) | UInt32(references.count - 1)
    }

    private func resolve(_ reference: UInt32) -> (file: String, line: Int) {
        if reference >> 24 == 0xFF { return references[Int(reference & 0xFF_FFFF)] }
        return (files[Int(reference >> 24)], Int(reference & 0xFF_FFFF))
    }
}
