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
/// numbers in percent format; dates are dates; flags are booleans; http(s) URLs are hyperlinks up to Excel's limit
/// of 65,530 per sheet and text beyond it. Every stored value is written as a string or number cell and never as a
/// formula, so a value such as `=HYPERLINK(…)` stays the text it is. Header rows are frozen and every table has an
/// autofilter.
///
/// The workbook is streamed: the Daten rows are written as SpreadsheetML and compressed on a second thread into a
/// scratch file as they come; libxlsxwriter (in constant-memory mode) writes the other sheets, the charts and the
/// styles into a file of its own; the package is then put together into the sink (``XLSXPackage``). Memory stays
/// flat at national scale. Both files are in a private temporary directory (in `TMPDIR`), removed afterwards.
public struct XLSXExporter: ReportExporter {
    public let identifier = "xlsx"
    public let description = "Excel workbook (XLSX): overview with charts, tables per Themenfeld, service and unit, trend, EfA reuse, all rows"
    public let fileExtension = "xlsx"
    public let mediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    public let isBinary = true

    /// Rows per Daten sheet (header included): Excel's limit (lower ones in tests).
    let rowsPerSheet: Int
    /// Hyperlinks per Daten sheet: Excel's limit of 65,530 (lower ones in tests); URLs beyond it are text. (With
    /// libxlsxwriter writing the rows this was 20,000 per workbook: it kept each link in memory until the end,
    /// about 2.6 KB each. The Daten rows are now written by ozgtrack, which keeps about 40 bytes per link.)
    let linkLimit: Int
    static let defaultLinkLimit = XLSXSheet.maximumLinks

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
        try writer.write(to: sink)
    }
}

/// A private directory for the scratch files (0700, in `TMPDIR`), removed with everything in it when the value
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
}
