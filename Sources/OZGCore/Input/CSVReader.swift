/// The field separator of a CSV file.
public enum CSVDelimiter: UInt8, Sendable, CaseIterable {
    case comma = 0x2C
    case semicolon = 0x3B
    case tab = 0x09

    /// Parses `,`, `;` or `\t` (also written `tab`).
    public init?(text: String) {
        switch text {
        case ",": self = .comma
        case ";": self = .semicolon
        case "\t", "\\t", "tab": self = .tab
        default: return nil
        }
    }
}

/// A streaming RFC 4180 reader over UTF-8 bytes, with line numbers for every record.
///
/// Accepts a UTF-8 byte-order mark, `,` `;` or tab as delimiter (detected from the header line when not
/// given), CRLF or LF line ends, quoted fields with doubled quotes, delimiters and line breaks. Refuses
/// UTF-16 files, NUL bytes, unterminated quotes, stray quotes and fields longer than ``maxFieldBytes``,
/// each with the file and line. Empty lines are skipped.
///
/// Hand-written rather than built on a general CSV library because the national import reads about
/// 6 million records: this reader hands out fields as byte slices of the (memory-mapped) input without
/// creating a `String` per field, which the import's speed target needs (see docs/performance.md).
/// A field is valid until the next call of ``next()``.
public final class CSVReader {
    /// The file name used in error messages.
    public let file: String
    /// The delimiter in use (detected or given).
    public let delimiter: CSVDelimiter
    /// The longest field accepted, in bytes.
    public let maxFieldBytes: Int
    /// The line on which the current record starts (1-based).
    public var line: Int { state.pointee.line }
    /// The number of fields in the current record.
    public var count: Int { state.pointee.count }
    /// The byte offset where the next record starts (everything before it has been read).
    public var offset: Int { state.pointee.position }

    private let base: UnsafePointer<UInt8>?
    private let end: Int
    /// Field spans of the current record. A fixed buffer (a `let` pointer, so the hot loop pays no
    /// exclusivity checks): records have at most ``maxFields`` fields.
    private let spans: UnsafeMutablePointer<Span>
    /// The reader's changing state, behind a `let` pointer for the same reason: as `var` properties of the class,
    /// their dynamic exclusivity checks (`swift_beginAccess`) were 4 % of a national dry run's samples
    /// (5,988,307 rows; `perf record`, docs/performance.md).
    private let state: UnsafeMutablePointer<State>

    private struct State {
        var line = 0
        var count = 0
        var position: Int
        var nextLine = 1
        /// Unescaped quoted fields of the current record.
        var side: UnsafeMutablePointer<UInt8>
        var sideCapacity = 4096
        var sideCount = 0
    }

    struct Span {
        var start: Int
        var length: Int
        var inSide: Bool
    }

    /// The most fields a record may have.
    public static let maxFields = 1024

    /// The default limit for one field: 64 KiB, far above any real note or URL.
    public static let defaultMaxFieldBytes = 65_536

    /// Creates a reader over `bytes`, which must stay valid while the reader is used.
    /// - Throws: ``InputError`` when the input is UTF-16 rather than UTF-8.
    public init(
        bytes: UnsafeRawBufferPointer, file: String, delimiter: CSVDelimiter? = nil,
        maxFieldBytes: Int = CSVReader.defaultMaxFieldBytes
    ) throws(InputError) {
        if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
            throw InputError(
                .encoding, file: file, line: 1,
                message: "the file is UTF-16 encoded: expected UTF-8 (convert it, e.g. with iconv -f UTF-16 -t UTF-8)")
        }
        // UTF-16 without a byte-order mark: ASCII text then has a NUL byte beside every character.
        if bytes.count >= 4, (bytes[0] == 0 && bytes[2] == 0 && bytes[1] != 0) || (bytes[1] == 0 && bytes[3] == 0 && bytes[0] != 0) {
            throw InputError(
                .encoding, file: file, line: 1,
                message: "the file looks UTF-16 encoded (NUL bytes between the characters): expected UTF-8 "
                    + "(convert it, e.g. with iconv -f UTF-16 -t UTF-8)")
        }
        self.file = file
        self.maxFieldBytes = maxFieldBytes
        self.base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        self.end = bytes.count
        self.spans = .allocate(capacity: CSVReader.maxFields)
        var start = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }
        let state = UnsafeMutablePointer<State>.allocate(capacity: 1)
        state.initialize(to: State(position: start, side: .allocate(capacity: 4096)))
        self.state = state
        self.delimiter = delimiter ?? CSVReader.detectDelimiter(bytes, from: start)
    }

    deinit {
        state.pointee.side.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
        spans.deallocate()
    }

    /// Picks the delimiter that occurs most often outside quotes in the first line (comma on a tie).
    private static func detectDelimiter(_ bytes: UnsafeRawBufferPointer, from start: Int) -> CSVDelimiter {
        var commas = 0
        var semicolons = 0
        var tabs = 0
        var quoted = false
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x22 {
                quoted.toggle()
            } else if !quoted {
                if byte == 0x0A { break }
                if byte == 0x2C { commas += 1 }
                if byte == 0x3B { semicolons += 1 }
                if byte == 0x09 { tabs += 1 }
            }
            index += 1
        }
        if semicolons > commas && semicolons >= tabs { return .semicolon }
        if tabs > commas && tabs > semicolons { return .tab }
        return .comma
    }

    /// Advances to the next record. Returns `false` at the end of the input.
    ///
    /// The scan works on local copies of the reader's state and writes them back once per record.
    public func next() throws(InputError) -> Bool {
        guard let base else { return false }
        let state = state
        var scanner = Scanner(
            base: base, end: end, position: state.pointee.position, line: state.pointee.nextLine,
            delimiter: delimiter.rawValue, maxFieldBytes: maxFieldBytes, spans: spans)
        defer {
            state.pointee.position = scanner.position
            state.pointee.nextLine = scanner.line
        }
        // Skip empty lines.
        while scanner.position < end {
            let byte = base[scanner.position]
            if byte == 0x0A {
                scanner.position += 1
                scanner.line += 1
            } else if byte == 0x0D, scanner.position + 1 < end, base[scanner.position + 1] == 0x0A {
                scanner.position += 2
                scanner.line += 1
            } else {
                break
            }
        }
        state.pointee.count = 0
        state.pointee.sideCount = 0
        if scanner.position >= end { return false }
        state.pointee.line = scanner.line
        do throws(Scanner.Failure) {
            try scanner.record { start, length in self.unescape(start: start, length: length) }
        } catch {
            throw InputError(error.kind, file: file, line: error.line, message: error.message)
        }
        state.pointee.count = scanner.count
        return true
    }

    /// Copies a quoted field's content with doubled quotes made single into the side buffer.
    private func unescape(start: Int, length: Int) -> Int {
        guard let base else { return 0 }
        let state = state
        if state.pointee.sideCount + length > state.pointee.sideCapacity {
            var capacity = state.pointee.sideCapacity
            while state.pointee.sideCount + length > capacity { capacity *= 2 }
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            grown.update(from: state.pointee.side, count: state.pointee.sideCount)
            state.pointee.side.deallocate()
            state.pointee.side = grown
            state.pointee.sideCapacity = capacity
        }
        let side = state.pointee.side
        let sideStart = state.pointee.sideCount
        var sideCount = sideStart
        var index = start
        while index < start + length {
            let byte = base[index]
            side[sideCount] = byte
            sideCount += 1
            index += byte == 0x22 ? 2 : 1
        }
        state.pointee.sideCount = sideCount
        return sideStart
    }

    /// The scanning state of one record, held in locals.
    private struct Scanner {
        let base: UnsafePointer<UInt8>
        let end: Int
        var position: Int
        var line: Int
        let delimiter: UInt8
        let maxFieldBytes: Int
        let spans: UnsafeMutablePointer<Span>
        var count = 0
        let startLine: Int

        struct Failure: Error {
            var kind: InputError.Kind
            var line: Int
            var message: String
        }

        init(
            base: UnsafePointer<UInt8>, end: Int, position: Int, line: Int, delimiter: UInt8, maxFieldBytes: Int,
            spans: UnsafeMutablePointer<Span>
        ) {
            self.base = base
            self.end = end
            self.position = position
            self.line = line
            self.delimiter = delimiter
            self.maxFieldBytes = maxFieldBytes
            self.spans = spans
            self.startLine = line
        }

        @inline(__always)
        mutating func append(start: Int, length: Int, inSide: Bool) throws(Failure) {
            if length > maxFieldBytes {
                throw Failure(
                    kind: .malformed, line: startLine, message: "field \(count + 1) is \(length) bytes long: expected at most \(maxFieldBytes) bytes")
            }
            if count == CSVReader.maxFields {
                throw Failure(kind: .tooManyFields, line: startLine, message: "the record has more than \(CSVReader.maxFields) fields: expected far fewer")
            }
            spans[count] = Span(start: start, length: length, inSide: inSide)
            count += 1
        }

        /// Reads one record; `unescape` copies a quoted field with doubled quotes and returns its side offset.
        mutating func record(unescape: (Int, Int) -> Int) throws(Failure) {
            while true {
                if base[position] == 0x22 {
                    try quoted(unescape: unescape)
                } else {
                    let start = position
                    // The scan runs on a local index, stored back once per field: as `self.position` it was stored to
                    // memory at every byte (the record loop was 10 % of a national dry run's samples).
                    var index = position
                    while index < end {
                        let byte = base[index]
                        if byte == delimiter || byte == 0x0A { break }
                        if byte == 0x0D, index + 1 < end, base[index + 1] == 0x0A { break }
                        if byte == 0x22 {
                            throw Failure(
                                kind: .malformed, line: startLine,
                                message: "unexpected quote in field \(count + 1): expected a field that contains quotes to be "
                                    + "enclosed in quotes, with inner quotes doubled")
                        }
                        if byte == 0 { throw Failure(kind: .encoding, line: startLine, message: "NUL byte in field \(count + 1): expected text") }
                        index += 1
                    }
                    position = index
                    try append(start: start, length: position - start, inSide: false)
                }
                if position >= end { return }
                let byte = base[position]
                if byte == delimiter {
                    position += 1
                    if position >= end {
                        try append(start: position, length: 0, inSide: false)
                        return
                    }
                    continue
                }
                position += byte == 0x0D ? 2 : 1
                line += 1
                return
            }
        }

        private mutating func quoted(unescape: (Int, Int) -> Int) throws(Failure) {
            let fieldLine = line
            position += 1
            let start = position
            var hasEscapes = false
            while true {
                guard position < end else {
                    throw Failure(
                        kind: .malformed, line: fieldLine,
                        message: "quoted field \(count + 1) is never closed: expected a closing quote before the end of the file")
                }
                let byte = base[position]
                if byte == 0x22 {
                    if position + 1 < end, base[position + 1] == 0x22 {
                        hasEscapes = true
                        position += 2
                        continue
                    }
                    break
                }
                if byte == 0x0A { line += 1 }
                if byte == 0 { throw Failure(kind: .encoding, line: startLine, message: "NUL byte in field \(count + 1): expected text") }
                position += 1
            }
            let length = position - start
            position += 1  // the closing quote
            if position < end {
                let after = base[position]
                let endsLine = after == 0x0A || (after == 0x0D && position + 1 < end && base[position + 1] == 0x0A)
                if after != delimiter && !endsLine {
                    throw Failure(
                        kind: .malformed, line: startLine,
                        message: "unexpected text after the closing quote of field \(count + 1): expected a delimiter or the end of the line")
                }
            }
            if !hasEscapes || length > maxFieldBytes {
                try append(start: start, length: length, inSide: false)
                return
            }
            let sideStart = unescape(start, length)
            var unescapedLength = 0
            var index = start
            while index < start + length {
                index += base[index] == 0x22 ? 2 : 1
                unescapedLength += 1
            }
            try append(start: sideStart, length: unescapedLength, inSide: true)
        }
    }

    /// The raw bytes of field `index` of the current record (empty when the record has fewer fields).
    public subscript(index: Int) -> UnsafeRawBufferPointer {
        guard index < state.pointee.count, let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let span = spans[index]
        let pointer = span.inSide ? UnsafePointer(state.pointee.side) + span.start : base + span.start
        return UnsafeRawBufferPointer(start: pointer, count: span.length)
    }

    /// Whether field `index` is empty or missing.
    public func isEmpty(_ index: Int) -> Bool { index >= state.pointee.count || spans[index].length == 0 }

    /// Field `index` as text.
    /// - Throws: ``InputError`` when the bytes are not valid UTF-8.
    public func string(_ index: Int) throws(InputError) -> String {
        let bytes = self[index]
        if bytes.isEmpty { return "" }
        guard let text = UTF8Text.string(bytes) else {
            throw InputError(
                .encoding, file: file, line: line,
                message: "field \(index + 1) is not valid UTF-8: expected UTF-8 text (the file may be Latin-1 or "
                    + "Windows-1252; convert it, e.g. with iconv -f latin1 -t utf-8)")
        }
        return text
    }

    /// The fields of the current record as text.
    public func strings() throws(InputError) -> [String] {
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count { result.append(try string(index)) }
        return result
    }
}
