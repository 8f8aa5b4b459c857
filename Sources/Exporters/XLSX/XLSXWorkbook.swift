internal import CLibXLSXWriter
import Foundation
public import OZGCore

/// A workbook being written by libxlsxwriter in constant-memory mode: each worksheet's rows go to a temporary
/// file as they are finished, so memory stays flat however many rows a sheet has. The price: each sheet must be
/// written row by row, top to bottom (a cell in a row above the current one is silently dropped by the library);
/// several sheets may be written in turns, since each keeps its own current row. Strings are stored inline in
/// the cells (no shared-string table), and every value is written as a value — never as a formula.
///
/// Not thread-safe; one workbook is used by one exporter call.
final class XLSXWorkbook {
    private let workbook: UnsafeMutablePointer<lxw_workbook>
    /// The file libxlsxwriter writes at ``close()``.
    let path: String
    private var closed = false
    /// Worksheets added so far; libxlsxwriter writes the n-th as the part `xl/worksheets/sheet<n>.xml`.
    private(set) var sheetCount = 0

    /// Starts a workbook that will be written to `path`; libxlsxwriter's own temporary files go to `scratch`.
    /// - Parameter zip64: ZIP64 extensions, needed when one sheet's XML may exceed 4 GB (very large reports).
    init(path: String, scratch: String, zip64: Bool) throws(XLSXError) {
        self.path = path
        let opened = path.withCString { file in
            scratch.withCString { directory in
                var options = lxw_workbook_options(
                    constant_memory: UInt8(LXW_TRUE.rawValue), tmpdir: UnsafeMutablePointer(mutating: directory),
                    use_zip64: UInt8(zip64 ? LXW_TRUE.rawValue : LXW_FALSE.rawValue))
                return workbook_new_opt(file, &options)
            }
        }
        guard let opened else { throw XLSXError.cannotCreate(reason: "libxlsxwriter could not start a workbook") }
        workbook = opened
    }

    deinit {
        // A workbook that was not closed (an error on the way) is closed into its scratch path, which the
        // exporter removes; libxlsxwriter frees its memory only when closing.
        if !closed { workbook_close(workbook) }
    }

    /// Adds a worksheet (sheets appear in the order they are added).
    func addSheet(_ name: String) throws(XLSXError) -> XLSXSheet {
        guard let sheet = name.withCString({ workbook_add_worksheet(workbook, $0) }) else {
            throw XLSXError.cannotCreate(reason: "libxlsxwriter refused the worksheet name \(name.quotedForMessage)")
        }
        sheetCount += 1
        return XLSXSheet(pointer: sheet, name: name, part: sheetCount)
    }

    /// A cell format.
    func format(_ configure: (UnsafeMutablePointer<lxw_format>) -> Void) throws(XLSXError) -> UnsafeMutablePointer<lxw_format> {
        guard let format = workbook_add_format(workbook) else { throw XLSXError.cannotCreate(reason: "out of memory") }
        configure(format)
        return format
    }

    /// A chart, to be inserted into a sheet.
    func chart(_ type: lxw_chart_type) throws(XLSXError) -> UnsafeMutablePointer<lxw_chart> {
        guard let chart = workbook_add_chart(workbook, UInt8(type.rawValue)) else {
            throw XLSXError.cannotCreate(reason: "libxlsxwriter could not create a chart")
        }
        return chart
    }

    /// Sets the document properties (title, subject, author, comments, and the creation time: without it
    /// libxlsxwriter stamps the wall clock into `docProps/core.xml`, and two reports made with the same
    /// `SOURCE_DATE_EPOCH` would differ).
    func setProperties(title: String, subject: String, author: String, comments: String, created: Date) {
        title.withCString { title in
            subject.withCString { subject in
                author.withCString { author in
                    comments.withCString { comments in
                        var properties = lxw_doc_properties()
                        properties.title = UnsafeMutablePointer(mutating: title)
                        properties.subject = UnsafeMutablePointer(mutating: subject)
                        properties.author = UnsafeMutablePointer(mutating: author)
                        properties.comments = UnsafeMutablePointer(mutating: comments)
                        properties.created = time_t(created.timeIntervalSince1970.rounded(.down))
                        _ = workbook_set_properties(workbook, &properties)
                    }
                }
            }
        }
    }

    /// Assembles the XLSX file (the sheets' temporary files are compressed into it).
    func close() throws(XLSXError) {
        closed = true
        let result = workbook_close(workbook)
        guard result == LXW_NO_ERROR else { throw XLSXError(result, context: "writing \(path)") }
    }
}

/// One worksheet of an ``XLSXWorkbook``. Cells are written with typed functions; text always as a string cell.
struct XLSXSheet {
    let pointer: UnsafeMutablePointer<lxw_worksheet>
    let name: String
    /// The number of its part in the package (`xl/worksheets/sheet<part>.xml`).
    let part: Int

    /// Excel's limits: rows per sheet, hyperlinks per sheet, characters per cell, characters per URL.
    static let maximumRows = Int(LXW_ROW_MAX)
    static let maximumLinks = Int(LXW_MAX_NUMBER_URLS)
    static let maximumURLLength = 2_079

    @inline(__always)
    private func check(_ result: lxw_error, _ row: Int, _ column: Int) throws(XLSXError) {
        if result != LXW_NO_ERROR { throw XLSXError(result, context: "sheet \(name), row \(row + 1), column \(column + 1)") }
    }

    /// `text` as a cell's content: a literal `_xHHHH_` (which spreadsheet programs read as the escaped character
    /// HHHH) gets its underscore escaped as `_x005F_`, so that it shows as written. libxlsxwriter escapes control
    /// characters (a carriage return becomes `_x000D_`) but not this.
    static func cellText(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "_")), text.contains("_x") else { return text }
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: "_x") {
            result += rest[..<range.lowerBound]
            let after = rest[range.upperBound...]
            let hex = after.prefix(5)
            if hex.count == 5, hex.last == "_", hex.dropLast().allSatisfy(\.isHexDigit) {
                result += "_x005F_x"
            } else {
                result += "_x"
            }
            rest = after
        }
        return result + rest
    }

    /// Text, always as a string cell (never a formula, whatever it starts with). Empty text leaves the cell empty.
    func text(_ row: Int, _ column: Int, _ value: String, _ format: UnsafeMutablePointer<lxw_format>? = nil) throws(XLSXError) {
        guard !value.isEmpty else { return }
        var value = Self.cellText(value)
        let result = value.withUTF8 { bytes in
            // withUTF8 gives contiguous bytes but no terminating NUL: copy into a terminated buffer.
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
                _ = UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, from: bytes)
                buffer[bytes.count] = 0
                return worksheet_write_string(pointer, lxw_row_t(row), lxw_col_t(column), buffer.baseAddress, format)
            }
        }
        try check(result, row, column)
    }

    /// Text from a NUL-terminated encoding (cached encodings of names that repeat on many rows).
    func text(_ row: Int, _ column: Int, encoded value: [CChar], _ format: UnsafeMutablePointer<lxw_format>? = nil) throws(XLSXError) {
        guard value.count > 1 else { return }
        let result = value.withUnsafeBufferPointer { worksheet_write_string(pointer, lxw_row_t(row), lxw_col_t(column), $0.baseAddress, format) }
        try check(result, row, column)
    }

    func number(_ row: Int, _ column: Int, _ value: Double, _ format: UnsafeMutablePointer<lxw_format>? = nil) throws(XLSXError) {
        try check(worksheet_write_number(pointer, lxw_row_t(row), lxw_col_t(column), value, format), row, column)
    }

    func boolean(_ row: Int, _ column: Int, _ value: Bool, _ format: UnsafeMutablePointer<lxw_format>? = nil) throws(XLSXError) {
        try check(worksheet_write_boolean(pointer, lxw_row_t(row), lxw_col_t(column), value ? 1 : 0, format), row, column)
    }

    /// A hyperlink showing the URL itself. Returns `false` (and writes nothing) when Excel cannot take it as a
    /// link (too long, or the sheet's link limit is reached): the caller then writes it as text.
    func link(_ row: Int, _ column: Int, _ url: String, _ format: UnsafeMutablePointer<lxw_format>?) throws(XLSXError) -> Bool {
        let result = url.withCString { worksheet_write_url(pointer, lxw_row_t(row), lxw_col_t(column), $0, format) }
        switch result {
        case LXW_NO_ERROR: return true
        case LXW_ERROR_WORKSHEET_MAX_URL_LENGTH_EXCEEDED, LXW_ERROR_WORKSHEET_MAX_NUMBER_URLS_EXCEEDED,
            LXW_ERROR_255_STRING_LENGTH_EXCEEDED:
            return false
        default:
            try check(result, row, column)
            return false
        }
    }

    /// Column widths (in characters) and formats from `first` on.
    func columns(_ widths: [Double], from first: Int = 0, format: UnsafeMutablePointer<lxw_format>? = nil) {
        for (offset, width) in widths.enumerated() {
            _ = worksheet_set_column(pointer, lxw_col_t(first + offset), lxw_col_t(first + offset), width, format)
        }
    }

    /// One column's width and format.
    func column(_ column: Int, width: Double, format: UnsafeMutablePointer<lxw_format>?) {
        _ = worksheet_set_column(pointer, lxw_col_t(column), lxw_col_t(column), width, format)
    }

    /// Freezes the rows above `rows` (the header row).
    func freeze(rows: Int) { worksheet_freeze_panes(pointer, lxw_row_t(rows), 0) }

    /// An autofilter over a table (its header row and `lastRow`; at least the header).
    func autofilter(firstRow: Int, lastRow: Int, columns: Int) {
        _ = worksheet_autofilter(pointer, lxw_row_t(firstRow), 0, lxw_row_t(max(firstRow, lastRow)), lxw_col_t(columns - 1))
    }

    /// Places a chart with its top left corner at a cell.
    func insert(_ chart: UnsafeMutablePointer<lxw_chart>, row: Int, column: Int, scale: (Double, Double) = (1, 1)) throws(XLSXError) {
        var options = lxw_chart_options()
        options.x_scale = scale.0
        options.y_scale = scale.1
        try check(worksheet_insert_chart_opt(pointer, lxw_row_t(row), lxw_col_t(column), chart, &options), row, column)
    }

    /// Makes this the sheet shown when the workbook opens.
    func activate() { worksheet_activate(pointer) }
}

/// Writing the workbook failed.
public enum XLSXError: DescribedError {
    /// The library could not start the workbook or one of its parts.
    case cannotCreate(reason: String)
    /// A libxlsxwriter call failed: its message and where.
    case library(message: String, context: String)
    /// The workbook could not be written out, or read back to copy it.
    case output(String)

    public var description: String {
        switch self {
        case .cannotCreate(let reason): "cannot write the XLSX workbook: \(reason)"
        case .library(let message, let context): "cannot write the XLSX workbook (\(context)): \(message)"
        case .output(let reason): "cannot write the XLSX workbook: \(reason)"
        }
    }
}

extension XLSXError {
    init(_ error: lxw_error, context: String) {
        self = .library(message: String(cString: lxw_strerror(error)), context: context)
    }
}
