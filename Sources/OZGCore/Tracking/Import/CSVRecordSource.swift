import Foundation

/// Rows of ozgtrack's import CSV: `region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note`.
///
/// UTF-8 with or without byte-order mark, `,` or `;` as delimiter, CRLF or LF. The header names the columns;
/// `region` and `ozg_id` are required, the others may be left out or given in any order. An empty cell means
/// "not given": the stored value stays. A text cell (`url`, `solution`, `note`) that ozgtrack's CSV writer
/// protected with a leading `'` (``CSVFormat``) imports as the value it stands for.
///
/// A record with the wrong number of fields is one bad row (reported, reading goes on); every other error of the
/// CSV reader ends the file, since the next record's start is then unknown.
public struct CSVRecordSource: RecordSource {
    /// The columns, in the order `dump` writes them.
    public static let columns = ["region", "ozg_id"] + RecordField.allCases.map(\.rawValue)

    public let file: String
    let input: InputSource
    let validator: RecordValidator
    let delimiter: CSVDelimiter?

    /// The file at `path` (no name is special: standard input is ``InputSource/standardInput``).
    public init(path: String, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.init(input: .file(path), validator: validator, delimiter: delimiter)
    }

    /// - Parameters:
    ///   - path: where the rows come from.
    ///   - validator: checks values against the loaded catalogue and registry.
    ///   - delimiter: the delimiter, or `nil` to detect it from the header.
    public init(input: InputSource, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.input = input
        self.file = input.name
        self.validator = validator
        self.delimiter = delimiter
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try InputFile.withInput(input) { input in try forEachRow(in: input, body) }
    }

    /// The rows of `input` (the file's bytes); also the entry point for fuzzing.
    package func forEachRow(in input: InputBytes, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try withoutActuallyEscaping(body) { body in
            var sink = ResultRowSink(body: body)
            try forEachRow(in: input, into: &sink)
        }
    }

    func forEachRow<Sink: ImportRowSink>(into sink: inout Sink) throws {
        try InputFile.withInput(input) { input in try forEachRow(in: input, into: &sink) }
    }

    /// The rows of `input`, handed to `sink` one by one (the one reading loop behind both entry points).
    func forEachRow<Sink: ImportRowSink>(in input: InputBytes, into sink: inout Sink) throws {
        let table = try CSVTable(bytes: input.bytes, file: file, required: ["region", "ozg_id"], delimiter: delimiter)
        for name in table.header where !Self.columns.contains(name) {
            throw InputError(
                .unknownField, file: file, line: 1, field: name,
                message: "unknown column: expected the columns \(Self.columns.joined(separator: ","))")
        }
        var row = CSVRowParser(table: table, validator: validator, file: file)
        // An estimate, generous for the usual files: a record of a Gemeinde's key, an OZG-ID and a status alone
        // ("08111000,10000,online") takes 22 bytes; shorter records only make the detector grow as it did before.
        // And a likely count: the size over the mean length of the first lines (up to 1 MB of them).
        let sample = min(input.bytes.count, 1 << 20)
        var lines = 0
        for byte in UnsafeRawBufferPointer(rebasing: input.bytes[0..<sample]) where byte == UInt8(ascii: "\n") { lines += 1 }
        sink.expect(about: input.bytes.count / 20, likely: lines > 1 ? input.bytes.count / max(sample / lines, 1) : 0)
        while true {
            let more: Bool
            do throws(InputError) {
                more = try table.next()
            } catch {
                // A record with the wrong number of fields was read to its end: one bad row. Anything else (a
                // broken quote, too many fields) leaves the reader inside a record and ends the file.
                if error.kind == .fieldCount {
                    try sink.failure(error)
                    continue
                }
                throw error
            }
            guard more else { break }
            // The update is filled in place and moved on: returned in an optional tuple it was copied (with its
            // strings retained) and went through the runtime's generic enum code (`perf record`, national dry run).
            var update = RecordUpdate()
            let key: RecordKey
            do throws(InputError) {
                guard let parsed = try row.parse(into: &update) else { continue }
                key = parsed
            } catch {
                try sink.failure(error.located(file: file, line: table.line))
                input.release(before: table.reader.offset)
                continue
            }
            try sink.row(key, consume update, file: file, line: table.line)
            input.release(before: table.reader.offset)
        }
    }
}

/// Where a source that can hand rows over directly puts them: the reading stage of ``Importer`` takes each row's
/// key and update as they are, without an ``ImportRow`` and a `Result` around them.
///
/// Measured: in `perf record` of a national dry run (5,988,307 rows), `memmove` was 14 % of the samples, half of
/// it the row's copies from the parser through `Result<ImportRow, InputError>` into the stage's chunk, and
/// `swift_retain`/`swift_release` of the row's file name another few per cent (docs/performance.md).
protocol ImportRowSink {
    /// A valid row (its values checked one by one; the record as a whole is checked later).
    mutating func row(_ key: consuming RecordKey, _ update: consuming RecordUpdate, file: String, line: Int) throws
    /// A bad row, with its place.
    mutating func failure(_ error: InputError) throws
    /// About this many rows follow: `rows` at most (an estimate from the input's size, before the first row),
    /// `likely` from the length of its first lines (0: unknown).
    mutating func expect(about rows: Int, likely: Int)
}

extension ImportRowSink {
    mutating func expect(about rows: Int, likely: Int) {}
}

/// A source whose rows the reading stage can take through an ``ImportRowSink`` (the same rows, in the same
/// order, as ``RecordSource/forEachRow(_:)`` hands out).
protocol DirectRecordSource: RecordSource {
    func forEachRow<Sink: ImportRowSink>(into sink: inout Sink) throws
}

extension CSVRecordSource: DirectRecordSource {}

/// Builds the `Result`s of ``RecordSource/forEachRow(_:)`` from the rows of a ``DirectRecordSource``.
private struct ResultRowSink: ImportRowSink {
    let body: (Result<ImportRow, InputError>) throws -> Void

    func row(_ key: consuming RecordKey, _ update: consuming RecordUpdate, file: String, line: Int) throws {
        try body(.success(ImportRow(file: file, line: line, key: key, update: update)))
    }

    func failure(_ error: InputError) throws { try body(.failure(error)) }
}

/// Turns the current record of an import CSV into a key and an update.
///
/// Works on the fields' bytes where it can: the national import reads about six million rows, and the
/// common values (a key, a five-digit OZG-ID, a status word, a single-digit Reifegrad, a date) need no `String`
/// and no look-up table beyond the validator's. Anything unusual goes through the ``RecordValidator``, which
/// also words the errors. A struct, held in a local of the reading loop, so that its remembered region needs no
/// dynamic exclusivity checks (`swift_beginAccess` was 3 % of a national dry run's samples as a class).
struct CSVRowParser {
    private let table: CSVTable
    private let reader: CSVReader
    private let validator: RecordValidator
    private let file: String
    private let region: Int
    private let service: Int
    /// The column of each ``RecordField`` (in `allCases` order), or -1.
    private let columns: [Int]
    private var lastRegionBytes: [UInt8] = []
    private var lastRegion: RegionKey?

    private static let statusWords: [(bytes: [UInt8], status: Status)] = Status.allCases.map { (Array($0.rawValue.utf8), $0) }

    init(table: CSVTable, validator: RecordValidator, file: String) {
        self.table = table
        self.reader = table.reader
        self.validator = validator
        self.file = file
        region = table.index("region") ?? 0
        service = table.index("ozg_id") ?? 0
        columns = RecordField.allCases.map { table.index($0.rawValue) ?? -1 }
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lower = 0
        var upper = bytes.count
        while lower < upper && (bytes[lower] == 0x20 || bytes[lower] == 0x09) { lower += 1 }
        while upper > lower && (bytes[upper - 1] == 0x20 || bytes[upper - 1] == 0x09) { upper -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[lower..<upper])
    }

    private static func same(_ bytes: UnsafeRawBufferPointer, _ other: [UInt8]) -> Bool {
        guard bytes.count == other.count else { return false }
        if other.isEmpty { return true }
        return other.withUnsafeBytes { otherBytes in
            guard let base = bytes.baseAddress, let otherBase = otherBytes.baseAddress else { return false }
            return memcmp(base, otherBase, other.count) == 0
        }
    }

    /// The value of a field that is all ASCII digits (at most `limit` of them), else `nil`.
    private static func digits(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Int? {
        guard !bytes.isEmpty, bytes.count <= limit else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private func text(_ column: Int) throws(InputError) -> String {
        do {
            return try reader.string(column)
        } catch {
            throw error.inField(table.header[column])
        }
    }

    /// The value of a text column: the cell without the `'` ozgtrack's CSV writer may have put in front.
    private func cell(_ column: Int) throws(InputError) -> String {
        CSVFormat.original(ofCell: try text(column))
    }

    /// The row's key, with its values set in `update` (an empty update on entry), or `nil` when the row is skipped
    /// (an unknown key, when the validator skips those).
    mutating func parse(into update: inout RecordUpdate) throws(InputError) -> RecordKey? {
        let regionBytes = Self.trimmed(reader[region])
        let regionKey: RegionKey
        if let lastRegion, Self.same(regionBytes, lastRegionBytes) {
            regionKey = lastRegion
        } else {
            let regionText = String(decoding: regionBytes, as: UTF8.self)
            guard let key = try validator.region(regionText) else {
                validator.skip("\(file):\(table.line): region \(regionText.quotedForMessage) is not in the registry: skipped")
                return nil
            }
            regionKey = key
            lastRegion = key
            lastRegionBytes = Array(regionBytes)
        }
        let serviceBytes = Self.trimmed(reader[service])
        let id: OZGID
        let fiveDigits = serviceBytes.count == 5 ? Self.digits(serviceBytes, limit: 5) : nil
        if let fiveDigits, let known = validator.knownService(fiveDigits) {
            id = known
        } else {
            let serviceText = fiveDigits != nil
                ? String(decoding: serviceBytes, as: UTF8.self) : try text(service).trimmingCharacters(in: .whitespaces)
            guard let checked = try validator.service(serviceText) else {
                validator.skip("\(file):\(table.line): OZG-ID \(serviceText.quotedForMessage) is not in the catalogue: skipped")
                return nil
            }
            id = checked
        }
        for (fieldIndex, column) in columns.enumerated() where column >= 0 && !reader.isEmpty(column) {
            let bytes = reader[column]
            switch RecordField.allCases[fieldIndex] {
            case .status:
                let word = Self.trimmed(bytes)
                if let known = Self.statusWords.first(where: { Self.same(word, $0.bytes) }) {
                    update.status = known.status
                } else {
                    update.status = try validator.status(String(decoding: word, as: UTF8.self))
                }
            case .maturity:
                if let level = Self.digits(bytes, limit: 1) {
                    update.maturity = level
                } else {
                    update.maturity = try validator.maturity(try text(column))
                }
            case .maturityModel:
                if bytes.count == 1, let model = MaturityModel(rawValue: Int(bytes[0]) - 0x30) {
                    update.maturityModel = model
                } else {
                    update.maturityModel = try validator.maturityModel(try text(column))
                }
            case .planned:
                if let date = ISODate(utf8: bytes) {
                    update.planned = date
                } else {
                    update.planned = try validator.date(try text(column), field: "planned")
                }
            case .onlineSince:
                if let date = ISODate(utf8: bytes) {
                    update.onlineSince = date
                } else {
                    update.onlineSince = try validator.date(try text(column), field: "online_since")
                }
            case .url:
                update.url = try validator.url(try cell(column))
            case .solution:
                update.solution = try validator.text(try cell(column), field: .solution)
            case .note:
                update.note = try validator.text(try cell(column), field: .note)
            }
        }
        return RecordKey(region: regionKey, service: id)
    }
}
