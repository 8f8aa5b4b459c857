/// How ozgtrack writes CSV: the settings of its one CSV writer (``ByteWriter/appendCSVField(_:delimiter:formulaProtection:)``),
/// used by every CSV it writes — reports, listings and the canonical dump.
///
/// Cells are quoted as RFC 4180 says: when they hold the delimiter, a quote, CR or LF, with inner quotes doubled.
///
/// **Formula protection.** A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return
/// as a formula (CSV injection). With ``formulaProtection`` (the default for everything written for people), such
/// a cell gets a leading `'` (OWASP's advice). The rule looks at text cells only: numeric columns are written
/// from numbers and are never negative, so no number is ever changed; a text cell such as a note `-1` is
/// protected like any other (`'-1`).
///
/// **Reading back.** The `'` is the only change ozgtrack makes to a cell, and the importer takes it off again
/// (``original(ofCell:)``). So that this is exact for every value, a value that itself starts with one or more
/// `'` followed by one of those characters gets one more `'` — always, with or without formula protection. That
/// is the only change the canonical format (``canonical``, what `dump` writes) makes to a stored value: a dump
/// imports back to the same values and dumps again to the same bytes.
public struct CSVFormat: Sendable, Hashable {
    /// How records end.
    public enum LineEnd: Sendable, Hashable {
        /// `\n`: listings and the dump.
        case lf
        /// `\r\n`: the CSV report (RFC 4180, spreadsheets).
        case crlf
    }

    /// The field separator.
    public var delimiter: CSVDelimiter
    /// Whether cells that a spreadsheet would run as a formula get a leading `'`.
    public var formulaProtection: Bool
    /// How records end.
    public var lineEnd: LineEnd
    /// Whether the output starts with a UTF-8 byte-order mark (for Excel).
    public var byteOrderMark: Bool

    /// - Parameters:
    ///   - delimiter: the field separator (default `,`).
    ///   - formulaProtection: whether formula-like cells get a leading `'` (default: yes).
    ///   - lineEnd: how records end (default LF).
    ///   - byteOrderMark: whether to start with a UTF-8 byte-order mark (default: no).
    public init(
        delimiter: CSVDelimiter = .comma, formulaProtection: Bool = true, lineEnd: LineEnd = .lf, byteOrderMark: Bool = false
    ) {
        self.delimiter = delimiter
        self.formulaProtection = formulaProtection
        self.lineEnd = lineEnd
        self.byteOrderMark = byteOrderMark
    }

    /// The canonical import format (what `dump` writes): `,`, LF, no byte-order mark and no formula protection —
    /// values as stored (see the type's notes on `'`).
    public static let canonical = CSVFormat(formulaProtection: false)

    /// `value` as one cell.
    public func field(_ value: String) -> String {
        if !Self.needsWork(value, delimiter: delimiter.rawValue) { return value }
        return ByteWriter.text { $0.appendCSVField(value, delimiter: delimiter.rawValue, formulaProtection: formulaProtection) }
    }

    /// One record: the cells joined by the delimiter, with the line end.
    public func line(_ fields: [String]) -> String {
        ByteWriter.text { $0.appendCSVRecord(fields, format: self) }
    }

    /// Whether `value` may need quoting or a `'` (a quick scan that lets plain cells through untouched).
    private static func needsWork(_ value: String, delimiter: UInt8) -> Bool {
        guard let first = value.utf8.first else { return false }
        if startsLikeFormula(first) || first == 0x27 { return true }
        return value.utf8.contains { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
    }

    /// Whether `byte` starts a formula in a spreadsheet: `=`, `+`, `-`, `@`, tab or CR.
    @inlinable @inline(__always)
    public static func startsLikeFormula(_ byte: UInt8) -> Bool {
        byte == 0x3D || byte == 0x2B || byte == 0x2D || byte == 0x40 || byte == 0x09 || byte == 0x0D
    }

    /// Whether `bytes` are one or more `'` followed by a formula character: the cells from which reading takes
    /// one `'` off, and the values to which writing always adds one.
    @inlinable
    public static func isApostropheEscaped(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count && bytes[index] == 0x27 { index += 1 }
        return index > 0 && index < bytes.count && startsLikeFormula(bytes[index])
    }

    /// The value a cell written by ozgtrack stands for: the cell without its leading `'` when it is one or more
    /// `'` followed by `=`, `+`, `-`, `@`, tab or CR (see the type's notes), else the cell itself.
    public static func original(ofCell cell: String) -> String {
        guard cell.utf8.first == 0x27 else { return cell }
        var copy = cell
        let escaped = copy.withUTF8 { isApostropheEscaped($0) }
        return escaped ? String(cell.dropFirst()) : cell
    }
}

extension ByteWriter {
    /// Appends `text` as one CSV cell — the one CSV cell writer of ozgtrack (see ``CSVFormat``): a leading `'`
    /// when `formulaProtection` is on and the cell starts like a formula (`=`, `+`, `-`, `@`, tab, CR), or when
    /// it starts with `'` followed by such a character; then quoted when it holds the delimiter, a quote, CR or
    /// LF, with inner quotes doubled.
    @inlinable
    public mutating func appendCSVField(_ text: String, delimiter: UInt8, formulaProtection: Bool) {
        var copy = text
        copy.withUTF8 { bytes in
            guard let first = bytes.first else { return }
            let apostrophe = (formulaProtection && CSVFormat.startsLikeFormula(first))
                || (first == 0x27 && CSVFormat.isApostropheEscaped(bytes))
            var quote = false
            for byte in bytes where byte == delimiter || byte == 0x22 || byte == 0x0A || byte == 0x0D {
                quote = true
                break
            }
            if !quote && !apostrophe {
                append(bytes)
                return
            }
            if quote { append(ascii: 0x22) }
            if apostrophe { append(ascii: 0x27) }
            if quote {
                reserve(bytes.count * 2 + 1)
                for byte in bytes {
                    appendReserved(byte)
                    if byte == 0x22 { appendReserved(0x22) }
                }
                appendReserved(0x22)
            } else {
                append(bytes)
            }
        }
    }

    /// Appends the line end of `format`.
    @inlinable
    public mutating func appendCSVLineEnd(_ format: CSVFormat) {
        if format.lineEnd == .crlf { append(ascii: 0x0D) }
        append(ascii: 0x0A)
    }

    /// Appends one record: `fields` as cells of `format`, joined by its delimiter, with its line end.
    public mutating func appendCSVRecord(_ fields: [String], format: CSVFormat) {
        for (index, field) in fields.enumerated() {
            if index > 0 { append(ascii: format.delimiter.rawValue) }
            appendCSVField(field, delimiter: format.delimiter.rawValue, formulaProtection: format.formulaProtection)
        }
        appendCSVLineEnd(format)
    }

    /// Appends the byte-order mark when `format` asks for one (call once, before the first record).
    public mutating func appendCSVStart(_ format: CSVFormat) {
        if format.byteOrderMark { append([0xEF, 0xBB, 0xBF]) }
    }
}
