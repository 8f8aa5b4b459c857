internal import CLibXLSXWriter
import Foundation
import OZGCore

/// Writes one report as an XLSX workbook: the rows in one pass into the Daten sheets (ozgtrack's own
/// SpreadsheetML, compressed on a second thread: ``DataRowEncoder``, ``DeflatingSink``), then — with the aggregates
/// the pass accumulated — the summary sheets through libxlsxwriter (``XLSXWorkbook``), and finally the package
/// (``XLSXPackage``): libxlsxwriter's parts with the Daten sheets' rows put in.
///
/// The sheets are added in the order they are shown (Übersicht first), but written in the order the data
/// arrives: libxlsxwriter's constant-memory mode requires each sheet to be written top to bottom and lets sheets be
/// written in turns, so the Daten sheets fill first and the Übersicht, which needs the aggregates, last.
final class XLSXReportWriter {
    let report: Report
    let workbook: XLSXWorkbook
    let formats: XLSXFormats
    let overview: XLSXSheet
    let themenfelder: XLSXSheet
    let services: XLSXSheet
    let units: XLSXSheet
    let kreise: XLSXSheet?
    let trend: XLSXSheet
    let reuse: XLSXSheet

    /// The Daten sheets as they were filled: name, rows (without the header), URLs written as text for lack of
    /// hyperlinks.
    var dataSheets: [(name: String, rows: Int, unlinked: Int)] = []
    /// Figures per reporting unit, by position in the pass's region list (filled during the pass).
    var unitCounts: [ServiceCounts?] = []
    var regionList: [Region] = []
    /// The Daten sheets' part numbers, compressed rows, hyperlinks and shared strings (filled during the pass).
    var dataParts: [Int] = []
    var dataBodies: [DeflatingSink.Part] = []
    var compressed: ScratchFile?
    var links: DataSheetLinks?
    var sharedStrings = SharedStrings()
    /// The private directory for scratch files.
    let scratch: String

    /// Rows per Daten sheet (header included) and hyperlinks in the workbook.
    let rowsPerSheet: Int
    let linkLimit: Int

    init(report: Report, path: String, scratch: String, rowsPerSheet: Int, linkLimit: Int) throws(XLSXError) {
        self.report = report
        self.rowsPerSheet = rowsPerSheet
        self.linkLimit = linkLimit
        self.scratch = scratch
        let header = report.header
        // libxlsxwriter's package holds only the small sheets (the Daten sheets' rows are put in afterwards by
        // XLSXPackage, which writes ZIP64 records where needed): no ZIP64 here.
        workbook = try XLSXWorkbook(path: path, scratch: scratch, zip64: false)
        formats = try XLSXFormats(workbook)
        overview = try workbook.addSheet(XLSXReportWriter.overviewName)
        themenfelder = try workbook.addSheet("Themenfelder")
        services = try workbook.addSheet("Leistungen")
        units = try workbook.addSheet("Einheiten")
        let level = header.scope.level
        kreise = level == "bund" || level == RegionLevel.land.rawValue || level == RegionLevel.bezirk.rawValue
            ? try workbook.addSheet("Kreise") : nil
        trend = try workbook.addSheet("Trend")
        reuse = try workbook.addSheet("EfA-Nachnutzung")
        overview.activate()
    }

    static let overviewName = "Übersicht"
    static let dataName = "Daten"

    /// Writes the workbook into `sink`.
    func write(to sink: any OutputSink) throws {
        let header = report.header
        workbook.setProperties(
            title: "OZG-Umsetzungsstand: \(header.scope.name)", subject: "OZG-Umsetzungsbericht",
            author: "\(header.generator) \(header.version)", comments: ReportHeader.countingRule,
            created: header.createdAt)
        try writeRows()
        let summary = try report.summary()
        try writeThemenfelder(summary)
        try writeServices(summary)
        try writeUnits()
        try writeTrend()
        try writeReuse(summary)
        try writeOverview(summary)
        try workbook.close()
        guard let compressed, let links else { return }
        try XLSXPackage.write(
            libxlsxwriterFile: workbook.path, dataParts: dataParts, bodies: dataBodies, compressed: compressed, links: links,
            strings: sharedStrings, dataRows: dataSheets.map(\.rows),
            columns: Self.dataColumns(provenance: report.query.provenance).count, to: sink)
    }
}

/// The cell formats of the workbook.
struct XLSXFormats {
    let header: UnsafeMutablePointer<lxw_format>
    let title: UnsafeMutablePointer<lxw_format>
    let bold: UnsafeMutablePointer<lxw_format>
    let wrap: UnsafeMutablePointer<lxw_format>
    let percent: UnsafeMutablePointer<lxw_format>
    let boldPercent: UnsafeMutablePointer<lxw_format>
    let integer: UnsafeMutablePointer<lxw_format>
    let boldInteger: UnsafeMutablePointer<lxw_format>
    let date: UnsafeMutablePointer<lxw_format>
    let dateTime: UnsafeMutablePointer<lxw_format>
    let link: UnsafeMutablePointer<lxw_format>
    let text: UnsafeMutablePointer<lxw_format>
    /// The style numbers (`s="N"`) of dates, date-times and links in cells ozgtrack writes itself (the Daten rows).
    let dateStyle: Int
    let dateTimeStyle: Int
    let linkStyle: Int

    init(_ workbook: XLSXWorkbook) throws(XLSXError) {
        header = try workbook.format {
            format_set_bold($0)
            format_set_bg_color($0, 0xDDEBF7)
            format_set_bottom($0, UInt8(LXW_BORDER_THIN.rawValue))
            format_set_text_wrap($0)
            format_set_align($0, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))
        }
        title = try workbook.format {
            format_set_bold($0)
            format_set_font_size($0, 14)
        }
        bold = try workbook.format { format_set_bold($0) }
        wrap = try workbook.format {
            format_set_text_wrap($0)
            format_set_align($0, UInt8(LXW_ALIGN_VERTICAL_TOP.rawValue))
        }
        percent = try workbook.format { format_set_num_format($0, "0.0%") }
        boldPercent = try workbook.format {
            format_set_num_format($0, "0.0%")
            format_set_bold($0)
        }
        integer = try workbook.format { format_set_num_format($0, "#,##0") }
        boldInteger = try workbook.format {
            format_set_num_format($0, "#,##0")
            format_set_bold($0)
        }
        date = try workbook.format { format_set_num_format($0, "dd.mm.yyyy") }
        dateTime = try workbook.format { format_set_num_format($0, "dd.mm.yyyy hh:mm:ss") }
        link = try workbook.format {
            format_set_underline($0, UInt8(LXW_UNDERLINE_SINGLE.rawValue))
            format_set_font_color($0, 0x0563C1)
        }
        text = try workbook.format { format_set_num_format($0, "@") }
        // Registers the formats with the workbook's styles, as writing a cell with them would.
        dateStyle = Int(lxw_format_get_xf_index(date))
        dateTimeStyle = Int(lxw_format_get_xf_index(dateTime))
        linkStyle = Int(lxw_format_get_xf_index(link))
    }
}

/// Dates as Excel serial numbers (days since 1899-12-30, with Excel's phantom 29 February 1900).
enum ExcelDate {
    /// The serial number of a calendar day.
    static func serial(year: Int, month: Int, day: Int) -> Double {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468  // since 1970-01-01
        let serial = days + 25_569
        // Excel counts 29 February 1900, which did not exist: days before 1 March 1900 are one less.
        return Double(serial < 61 ? serial - 1 : serial)
    }

    static func serial(_ date: ISODate) -> Double { serial(year: date.year, month: date.month, day: date.day) }

    /// The serial number (with the time of day as a fraction) of an instant, in UTC.
    static func serial(_ date: Date) -> Double { date.timeIntervalSince1970 / 86_400 + 25_569 }
}
