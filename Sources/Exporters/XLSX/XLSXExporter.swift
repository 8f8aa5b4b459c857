public import OZGCore
import Foundation

/// An Excel workbook (XLSX) for the people who keep and pass on OZG figures in spreadsheets, written with
/// libxlsxwriter.
///
/// Sheets: **Übersicht** (header facts, counting rule, key figures, a bar chart of the status per Themenfeld),
/// **Themenfelder**, **Leistungen** (coverage per service, own and including higher level), **Einheiten** (the
/// reporting units with their figures), **Kreise** (for a Land, a Bezirk or the whole country: the figures per
/// Kreis), **Trend** (month ends, with a line chart), **EfA-Nachnutzung** (solutions and their reuse), and
/// **Daten** — the CSV report's columns, one row per unit and service. Excel holds at most 1,048,576 rows per
/// sheet; further rows continue on **Daten 2**, **Daten 3**, … and the Übersicht says so.
///
/// Cells are typed: keys (AGS/ARS, OZG-IDs) are text, so leading zeros stay; counts are numbers; shares are
/// numbers in percent format; dates are dates; flags are booleans; URLs are hyperlinks up to Excel's limit of
/// 65,530 per sheet and text beyond it. Every stored value is written as a string or number cell and never as a
/// formula, so a value such as `=HYPERLINK(…)` stays the text it is. Header rows are frozen and every table has an
/// autofilter.
///
/// The workbook is streamed: libxlsxwriter's constant-memory mode writes each finished row to a temporary file,
/// so memory stays flat at national scale. libxlsxwriter writes to a file, so the workbook is assembled in a
/// private temporary directory (in `TMPDIR`) and then copied into the sink; the directory is removed afterwards.
public struct XLSXExporter: ReportExporter {
    public let identifier = "xlsx"
    public let description = "Excel workbook (XLSX): overview with charts, tables per Themenfeld, service and unit, trend, EfA reuse, all rows"
    public let fileExtension = "xlsx"
    public let mediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    public let isBinary = true

    /// Rows per Daten sheet (header included): Excel's limit (lower ones in tests).
    let rowsPerSheet: Int
    /// Hyperlinks in the whole workbook. libxlsxwriter keeps every hyperlink in memory until the workbook is
    /// closed (measured: about 2.6 KB each, 170 MB for one sheet at Excel's limit of 65,530), so the links are
    /// bounded by memory, not by Excel: the first 20,000 URLs are links, the rest text.
    let linkLimit: Int
    static let defaultLinkLimit = 20_000

    public init() { self.init(rowsPerSheet: XLSXSheet.maximumRows, linkLimit: Self.defaultLinkLimit) }

    init(rowsPerSheet: Int, linkLimit: Int = XLSXExporter.defaultLinkLimit) {
        self.rowsPerSheet = max(2, min(rowsPerSheet, XLSXSheet.maximumRows))
        self.linkLimit = max(0, min(linkLimit, XLSXSheet.maximumLinks))
    }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let scratch = try ScratchDirectory()
        let path = scratch.path + "/report.xlsx"
        let writer = try XLSXReportWriter(
            report: report, path: path, scratch: scratch.path, rowsPerSheet: rowsPerSheet, linkLimit: linkLimit)
        try writer.write()
        try scratch.copy(path, to: sink)
    }
}

/// A private directory for libxlsxwriter's files (0700, in `TMPDIR`), removed with everything in it when the value
/// goes away.
final class ScratchDirectory {
    let path: String

    init() throws(XLSXError) {
        var template = Array((FileManager.default.temporaryDirectory.path + "/.ozgtrack-xlsx-XXXXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        guard made != nil else {
            throw XLSXError.output(
                "cannot create a temporary directory in \(FileManager.default.temporaryDirectory.path): \(String(cString: strerror(errno)))")
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Copies the file at `file` into `sink`.
    func copy(_ file: String, to sink: any OutputSink) throws {
        let descriptor = open(file, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw XLSXError.output("cannot read back \(file): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw XLSXError.output("cannot read back \(file): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try sink.write(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
