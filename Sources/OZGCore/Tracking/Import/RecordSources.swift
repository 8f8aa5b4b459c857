import Foundation

/// Reads an input file's bytes: memory-mapped from disk, or all of standard input for `-`.
public enum InputFile {
    /// The largest input accepted, so that hostile input cannot exhaust memory: 4 GiB.
    public static let maxBytes = 4 << 30

    /// Calls `body` with the file's bytes.
    /// - Throws: ``InputError`` naming the file when it cannot be read, is a directory or is too large.
    public static func withBytes<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withInput(path) { try body($0.bytes) }
    }

    /// Calls `body` with the file as ``InputBytes``, which can give back pages already read.
    public static func withInput<R>(_ path: String, _ body: (InputBytes) throws -> R) throws -> R {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            if data.count > maxBytes {
                throw InputError(file: "<stdin>", message: "is \(data.count) bytes long: expected at most \(maxBytes) bytes")
            }
            return try data.withUnsafeBytes { try body(InputBytes(bytes: $0, mapping: nil)) }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(file: path, message: "does not exist: expected a readable file")
        }
        if isDirectory.boolValue { throw InputError(file: path, message: "is a directory: expected a file") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw InputError(file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw InputError(file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        let size = Int(info.st_size)
        if size > maxBytes { throw InputError(file: path, message: "is \(size) bytes long: expected at most \(maxBytes) bytes") }
        if size == 0 { return try body(InputBytes(bytes: UnsafeRawBufferPointer(start: nil, count: 0), mapping: nil)) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw InputError(file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        defer { munmap(base, size) }
        madvise(base, size, MADV_SEQUENTIAL)
        return try body(InputBytes(bytes: UnsafeRawBufferPointer(start: base, count: size), mapping: base))
    }
}

/// An input's bytes; for a mapped file, pages already read can be given back.
///
/// Reading a mapped file keeps every page touched in the process's memory until the mapping ends: a national
/// import would hold all 330 MB of its CSV. Readers that go front to back call ``release(before:)`` now and
/// then, so that memory stays bounded (the pages come back from the page cache should anything read them again).
public final class InputBytes {
    /// Bytes that are not a mapped file (tests, fuzzing, standard input).
    public convenience init(bytes: UnsafeRawBufferPointer) { self.init(bytes: bytes, mapping: nil) }

    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?
    private var released = 0
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Pages are given back in steps of this size.
    private static let step = 16 << 20

    init(bytes: UnsafeRawBufferPointer, mapping: UnsafeMutableRawPointer?) {
        self.bytes = bytes
        self.mapping = mapping
    }

    /// Gives back the pages that lie wholly before `offset`; they will not be read again.
    public func release(before offset: Int) {
        guard let mapping, offset - released >= Self.step else { return }
        let end = offset / Self.page * Self.page
        guard end > released else { return }
        madvise(mapping + released, end - released, MADV_DONTNEED)
        released = end
    }
}

/// Rows of ozgtrack's import CSV: `region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note`.
///
/// UTF-8 with or without byte-order mark, `,` or `;` as delimiter, CRLF or LF. The header names the columns;
/// `region` and `ozg_id` are required, the others may be left out or given in any order. An empty cell means
/// "not given": the stored value stays.
public struct CSVRecordSource: RecordSource {
    /// The columns, in the order `dump` writes them.
    public static let columns = ["region", "ozg_id"] + RecordField.allCases.map(\.rawValue)

    public let file: String
    let path: String
    let validator: RecordValidator
    let delimiter: CSVDelimiter?

    /// - Parameters:
    ///   - path: the file, or `-` for standard input.
    ///   - validator: checks values against the loaded catalogue and registry.
    ///   - delimiter: the delimiter, or `nil` to detect it from the header.
    public init(path: String, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.path = path
        self.file = path == "-" ? "<stdin>" : path
        self.validator = validator
        self.delimiter = delimiter
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try InputFile.withInput(path) { input in try forEachRow(in: input, body) }
    }

    /// The rows of `input` (the file's bytes); also the entry point for fuzzing.
    package func forEachRow(in input: InputBytes, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        let table = try CSVTable(bytes: input.bytes, file: file, required: ["region", "ozg_id"], delimiter: delimiter)
        for name in table.header where !Self.columns.contains(name) {
            throw InputError(
                file: file, line: 1, field: name,
                message: "unknown column: expected the columns \(Self.columns.joined(separator: ","))")
        }
        let row = CSVRowParser(table: table, validator: validator, file: file)
        while true {
            let more: Bool
            do throws(InputError) {
                more = try table.next()
            } catch {
                // A record with the wrong number of fields is one bad row; a broken quote ends the file.
                if error.message.hasPrefix("the record has") {
                    try body(.failure(error))
                    continue
                }
                throw error
            }
            guard more else { break }
            let result: Result<ImportRow, InputError>
            do throws(InputError) {
                guard let parsed = try row.parse() else { continue }
                result = .success(parsed)
            } catch {
                result = .failure(error.located(file: file, line: table.line))
            }
            try body(result)
            input.release(before: table.reader.offset)
        }
    }
}

/// Turns the current record of an import CSV into an ``ImportRow``.
///
/// Works on the fields' bytes where it can: the national import reads about six million rows, and the
/// common values (a key, a five-digit OZG-ID, a status word, a single-digit Reifegrad, a date) need no `String`
/// and no look-up table beyond the validator's. Anything unusual goes through the ``RecordValidator``, which
/// also words the errors.
final class CSVRowParser {
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
        bytes.count == other.count && bytes.elementsEqual(other)
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

    /// The row, or `nil` when it is skipped (unknown keys with `--skip-unknown`).
    func parse() throws(InputError) -> ImportRow? {
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
        let serviceText = serviceBytes.count == 5 && Self.digits(serviceBytes, limit: 5) != nil
            ? String(decoding: serviceBytes, as: UTF8.self) : try text(service).trimmingCharacters(in: .whitespaces)
        guard let id = try validator.service(serviceText) else {
            validator.skip("\(file):\(table.line): OZG-ID \(serviceText.quotedForMessage) is not in the catalogue: skipped")
            return nil
        }
        var update = RecordUpdate()
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
                update.url = try validator.url(try text(column))
            case .solution:
                update.solution = try validator.text(try text(column), field: .solution)
            case .note:
                update.note = try validator.text(try text(column), field: .note)
            }
        }
        return ImportRow(file: file, line: table.line, key: RecordKey(region: regionKey, service: id), update: update)
    }
}

/// Finds the line on which each object of a JSON document's record arrays starts.
///
/// Foundation's JSON parser gives no positions; this scanner only follows strings, nesting and keys, so that an
/// error in the 17th record can name its line. Arrays are identified by the key they are the value of
/// (`""` for an array that is the document itself).
enum JSONLineLocator {
    /// For each array key, the start lines of the objects directly inside such arrays, in document order.
    static func objectLines(_ bytes: UnsafeRawBufferPointer) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        var line = 1
        var stack: [(isArray: Bool, key: String)] = []
        var lastString = ""
        var pendingKey = ""
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case 0x0A:
                line += 1
            case 0x22:  // a string: read to its closing quote, honouring escapes
                var end = index + 1
                while end < bytes.count && bytes[end] != 0x22 {
                    if bytes[end] == 0x5C { end += 1 }
                    end += 1
                }
                lastString = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<min(end, bytes.count)]), as: UTF8.self)
                index = end
            case 0x3A:  // ':' after a key
                pendingKey = lastString
            case 0x7B:  // '{'
                if let top = stack.last, top.isArray { result[top.key, default: []].append(line) }
                stack.append((false, ""))
            case 0x5B:  // '['
                let key = stack.isEmpty ? "" : (stack.last?.isArray == true ? stack.last?.key ?? "" : pendingKey)
                stack.append((true, stack.last?.isArray == true ? "\(key)[]" : key))
            case 0x7D, 0x5D:
                if !stack.isEmpty { stack.removeLast() }
            default:
                break
            }
            index += 1
        }
        return result
    }
}

/// Parses JSON and reports a syntax error with the file.
func parseJSON(_ bytes: UnsafeRawBufferPointer, file: String) throws -> Any {
    guard !bytes.isEmpty else { throw InputError(file: file, line: 1, message: "the file is empty: expected JSON") }
    if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
        throw InputError(file: file, line: 1, message: "the file is UTF-16 encoded: expected UTF-8")
    }
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
        throw InputError(file: file, message: "is not valid JSON (\(reason)): expected a JSON document")
    }
}

/// The text of a JSON value as the CSV format would hold it: strings as they are, integers without a
/// fraction, `null` as empty.
func jsonText(_ value: Any?, field: String) throws(InputError) -> String {
    switch value {
    case nil, is NSNull: return ""
    case let string as String: return string
    case let number as NSNumber:
        // JSON booleans arrive as NSNumber of ObjC type "c" (char); a 0/1 number has an integer type.
        if String(cString: number.objCType) == "c" {
            throw InputError(field: field, message: "\(number.boolValue) is a boolean: expected text or a number")
        }
        let double = number.doubleValue
        if double.rounded() == double, abs(double) < 1e15 { return String(Int(double)) }
        return number.stringValue
    default:
        throw InputError(field: field, message: "a nested value: expected text or a number")
    }
}

/// Rows of ozgtrack's import JSON: an array of objects (or `{"records": [...]}`) with the CSV format's
/// column names as keys; values are strings or numbers, `null` or a missing key mean "not given".
public struct JSONRecordSource: RecordSource {
    public let file: String
    let path: String
    let validator: RecordValidator

    public init(path: String, validator: RecordValidator) {
        self.path = path
        self.file = path == "-" ? "<stdin>" : path
        self.validator = validator
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try InputFile.withBytes(path) { bytes in try forEachRow(bytes: bytes, body) }
    }

    /// The rows of a JSON document's bytes; also the entry point for fuzzing.
    package func forEachRow(bytes: UnsafeRawBufferPointer, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        let document = try parseJSON(bytes, file: file)
        let records: [Any]
        let lines: [Int]
        let located = JSONLineLocator.objectLines(bytes)
        if let array = document as? [Any] {
            records = array
            lines = located[""] ?? []
        } else if let object = document as? [String: Any], let array = object["records"] as? [Any] {
            records = array
            lines = located["records"] ?? []
        } else {
            throw InputError(file: file, line: 1, message: "expected an array of records or an object {\"records\": [...]}")
        }
        for (index, element) in records.enumerated() {
            let line = index < lines.count ? lines[index] : nil
            let result: Result<ImportRow, InputError>
            do throws(InputError) {
                guard let object = element as? [String: Any] else {
                    throw InputError(message: "record \(index + 1) is not an object: expected {\"region\": ..., \"ozg_id\": ...}")
                }
                for key in object.keys.sorted() where !CSVRecordSource.columns.contains(key) {
                    throw InputError(field: key, message: "unknown key: expected \(CSVRecordSource.columns.joined(separator: ", "))")
                }
                let regionText = try jsonText(object["region"], field: "region")
                let serviceText = try jsonText(object["ozg_id"], field: "ozg_id")
                if regionText.isEmpty { throw InputError(field: "region", message: "missing: expected a region key") }
                if serviceText.isEmpty { throw InputError(field: "ozg_id", message: "missing: expected an OZG-ID") }
                guard let region = try validator.region(regionText) else {
                    validator.skip("\(file):\(line ?? 0): region \(regionText.quotedForMessage) is not in the registry: skipped")
                    continue
                }
                guard let service = try validator.service(serviceText) else {
                    validator.skip("\(file):\(line ?? 0): OZG-ID \(serviceText.quotedForMessage) is not in the catalogue: skipped")
                    continue
                }
                var texts: [RecordField: String] = [:]
                for field in RecordField.allCases { texts[field] = try jsonText(object[field.rawValue], field: field.rawValue) }
                let update = try validator.update(texts)
                result = .success(ImportRow(file: file, line: line ?? index + 1, key: RecordKey(region: region, service: service), update: update))
            } catch {
                result = .failure(error.located(file: file, line: line))
            }
            try body(result)
        }
    }
}
