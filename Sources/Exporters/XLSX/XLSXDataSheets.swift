internal import CLibXLSXWriter
import Foundation
import OZGCore

extension XLSXReportWriter {
    /// The Daten columns: the CSV report's columns, labelled in German (the CSV name in brackets in the docs).
    static func dataColumns(provenance: Bool) -> [(label: String, width: Double)] {
        [
            ("Schlüssel (AGS/ARS)", 14), ("Name", 30), ("Ebene", 11), ("Berichtseinheit", 10), ("OZG-ID", 8),
            ("Leistung", 45), ("Themenfeld", 8), ("Status", 14), ("Status (deutsch)", 15), ("Reifegrad", 9),
            ("Reifegradmodell", 9), ("geplant", 11), ("online seit", 11), ("URL", 40), ("Lösung", 25), ("Notiz", 40),
            ("online (eigene)", 10), ("online (einschl. höherer Ebene)", 12), ("über", 12),
        ] + (provenance ? [("geändert am", 19), ("geändert von", 16), ("Quelle", 20)] : [])
    }

    /// Starts a Daten sheet in the libxlsxwriter workbook: header row, widths, frozen header. Its rows are not
    /// written there but by ``DataRowEncoder`` (see ``XLSXPackage``).
    private func startDataSheet(number: Int) throws(XLSXError) -> XLSXSheet {
        let name = number == 1 ? Self.dataName : "\(Self.dataName) \(number)"
        let sheet = try workbook.addSheet(name)
        let columns = Self.dataColumns(provenance: report.query.provenance)
        for (index, column) in columns.enumerated() {
            try sheet.text(0, index, column.label, formats.header)
            sheet.column(index, width: column.width, format: nil)
        }
        sheet.freeze(rows: 1)
        return sheet
    }

    private func finishDataSheet(_ sheet: XLSXSheet, rows: Int, unlinked: Int) {
        sheet.autofilter(firstRow: 0, lastRow: rows, columns: Self.dataColumns(provenance: report.query.provenance).count)
        dataSheets.append((sheet.name, rows, unlinked))
        dataParts.append(sheet.part)
    }

    /// The rows of the report, one pass, into Daten, Daten 2, …; counts the reporting units' figures on the way.
    ///
    /// The rows' XML is made here and compressed on a second thread (``DeflatingSink``) into a scratch file, one
    /// part per sheet; the package is put together after libxlsxwriter has closed its workbook.
    func writeRows() throws {
        let provenance = report.query.provenance
        // The trend is counted from the versions this pass reads anyway (``Report/rows(withTrend:)``): on its own
        // pass after the rows it was the largest part of the workbook's serial tail (Land report of a Land-only
        // database, `perf record`, release build: 0.36 s of 2.6 s CPU, after the rows and on one core).
        let rows = report.rows(withTrend: true)
        // Rows the status filter leaves out come too: they count in the units' figures, but are not listed.
        rows.includesUnlisted = report.query.statuses != nil
        regionList = rows.regionList
        let regions = regionList
        let serviceList = rows.serviceList
        unitCounts = [ServiceCounts?](repeating: nil, count: regionList.count)

        let compressed = try ScratchFile(path: scratch + "/daten.deflate")
        let deflating = try DeflatingSink(file: compressed)
        let links = try DataSheetLinks(file: try ScratchFile(path: scratch + "/links.xml"), limit: linkLimit)
        self.compressed = compressed
        self.links = links
        var out = ByteWriter(sink: deflating)
        var encoder = DataRowEncoder(
            regions: regionList.count, services: serviceList.count, date: formats.dateStyle, dateTime: formats.dateTimeStyle,
            link: formats.linkStyle)

        let lastRowOnSheet = rowsPerSheet - 1
        var sheetNumber = 1
        var sheet = try startDataSheet(number: sheetNumber)
        var row = 0
        var unlinked = 0
        // The figures of the reporting unit whose rows are passing (a unit's rows come together).
        var unit = (position: -1, counts: ServiceCounts())
        while let view = rows.nextView() {
            if view.isReportingUnit {
                if view.region != unit.position {
                    if unit.position >= 0 { unitCounts[unit.position] = unit.counts }
                    unit = (view.region, ServiceCounts())
                }
                unit.counts.add(view.values, viaHigherLevel: view.via != nil)
            }
            guard view.isListed else { continue }
            if row == lastRowOnSheet {
                try out.flush()
                try deflating.endPart()
                try links.endSheet()
                finishDataSheet(sheet, rows: row, unlinked: unlinked)
                sheetNumber += 1
                sheet = try startDataSheet(number: sheetNumber)
                row = 0
                unlinked = 0
            }
            row += 1
            let linked = try encoder.row(
                view, regions: regions, services: serviceList, provenance: provenance, excelRow: row + 1, links: links,
                out: &out)
            if !linked { unlinked += 1 }
            try out.flushIfFull()
        }
        if unit.position >= 0 { unitCounts[unit.position] = unit.counts }
        try out.flush()
        try deflating.endPart()
        try links.endSheet()
        finishDataSheet(sheet, rows: row, unlinked: unlinked)
        dataBodies = try deflating.finish()
        sharedStrings = encoder.strings
    }
}

/// The shared-string table of the Daten sheets: the texts that repeat on many rows (a region's key and name, a
/// service's ID and name, the status) are stored once and referenced by number (less to format, less to
/// compress: with this and without cell references a row of the Land report is about 470 bytes of XML, against
/// about 830 from libxlsxwriter's inline strings). Texts that rarely repeat (URLs, notes) stay inline.
struct SharedStrings {
    /// The `<si>` elements.
    private(set) var xml: [UInt8] = []
    private(set) var count = 0
    /// Per string, the rest of a cell referencing it after `<c` (` t="s"><v>N</v></c>`).
    private var cells: [UInt8] = []
    private var spans: [(start: Int32, length: Int32)] = []

    /// Adds `text` (not empty); its number.
    mutating func add(_ text: String) throws(XLSXError) -> Int32 {
        let escaped = try DataRowEncoder.escaped(text)
        xml.append(contentsOf: escaped.preserve ? Array("<si><t xml:space=\"preserve\">".utf8) : Array("<si><t>".utf8))
        xml.append(contentsOf: escaped.bytes)
        xml.append(contentsOf: Array("</t></si>".utf8))
        let tail = Array(" t=\"s\"><v>\(count)</v></c>".utf8)
        spans.append((Int32(cells.count), Int32(tail.count)))
        cells.append(contentsOf: tail)
        count += 1
        return Int32(count - 1)
    }

    /// Appends the rest of a cell that references string `index`.
    @inline(__always)
    func appendCell(_ index: Int32, to out: inout ByteWriter) {
        let span = spans[Int(index)]
        cells.withUnsafeBufferPointer { all in
            out.append(UnsafeBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + span.length)]))
        }
    }

    /// The part `xl/sharedStrings.xml`.
    var part: [UInt8] {
        Array("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" uniqueCount=\"\(count)\">".utf8)
            + xml + Array("</sst>".utf8)
    }
}

/// The hyperlinks of the Daten sheet being written: the `<hyperlink>` elements (in memory, about 40 bytes each)
/// and the sheet's relationships part with the URLs (to a scratch file, since URLs may be long).
///
/// libxlsxwriter kept each link in memory until the workbook was closed (measured about 2.6 KB each), which is
/// why the links were capped at 20,000 per workbook before; written here they cost memory only for the short
/// element, so every sheet gets Excel's limit of 65,530.
final class DataSheetLinks {
    let file: ScratchFile
    let limit: Int
    private var rels: ByteWriter
    /// The `<hyperlink>` elements of the current sheet.
    private var elements: [UInt8] = []
    private var count = 0
    private var start = 0
    /// Per Daten sheet: the `<hyperlinks>` element and where its relationships part is in the file (nil: no links).
    private(set) var sheets: [(elements: [UInt8], rels: (offset: Int, length: Int))?] = []

    init(file: ScratchFile, limit: Int) throws(XLSXError) {
        self.file = file
        self.limit = limit
        rels = ByteWriter(sink: file)
    }

    /// Whether another link fits on the current sheet.
    var hasRoom: Bool { count < limit }

    /// Adds a link from cell `reference` (such as `N12`) to `target` (already escaped as a URL).
    func add(reference: [UInt8], target: UnsafePointer<CChar>) throws {
        if count == 0 {
            rels.append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">")
        }
        count += 1
        elements.append(contentsOf: Array("<hyperlink ref=\"".utf8))
        elements.append(contentsOf: reference)
        elements.append(contentsOf: Array("\" r:id=\"rId\(count)\"/>".utf8))
        rels.append("<Relationship Id=\"rId")
        rels.append(count)
        rels.append("\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"")
        var pointer = target
        while pointer.pointee != 0 {
            let byte = UInt8(bitPattern: pointer.pointee)
            switch byte {
            case UInt8(ascii: "&"): rels.append("&amp;")
            case UInt8(ascii: "<"): rels.append("&lt;")
            case UInt8(ascii: ">"): rels.append("&gt;")
            case UInt8(ascii: "\""): rels.append("&quot;")
            default: rels.append(ascii: byte)
            }
            pointer += 1
        }
        rels.append("\" TargetMode=\"External\"/>")
        try rels.flushIfFull()
    }

    /// Ends the current sheet's links.
    func endSheet() throws {
        guard count > 0 else {
            sheets.append(nil)
            return
        }
        rels.append("</Relationships>")
        try rels.flush()
        sheets.append(
            (Array("<hyperlinks>".utf8) + elements + Array("</hyperlinks>".utf8), (start, file.size - start)))
        start = file.size
        elements = []
        count = 0
    }
}

extension ScratchFile: OutputSink {
    func write(_ text: String) throws {
        var copy = text
        try copy.withUTF8 { try append(UnsafeRawBufferPointer($0)) }
    }

    func write(bytes: UnsafeRawBufferPointer) throws { try append(bytes) }
}

/// Writes the Daten rows as SpreadsheetML (`<row><c …>…</c>…</row>`), as libxlsxwriter would write the same
/// cells: the same types, styles and escapes, so the sheets read back identically. Differences that readers do
/// not see: repeated texts are shared strings, and cells carry no `r="B7"` reference unless a cell before them
/// in the row is empty (the reference is optional in SpreadsheetML: a cell without one is the next column).
struct DataRowEncoder {
    private(set) var strings = SharedStrings()
    private var keys: [Int32]
    private var names: [Int32]
    private var serviceIDs: [Int32]
    private var serviceNames: [Int32]
    private var regionLevels: [Int32]
    private var themenfelder: [Int]
    private var levels: [Int32] = []
    private var statusCodes: [Int32] = []
    private var statusGerman: [Int32] = []
    private var untracked: Int32 = -1
    private var untrackedGerman: Int32 = -1
    /// The style attributes (` s="N"`) of dates, date-times and links.
    private let date: [UInt8]
    private let dateTime: [UInt8]
    private let link: [UInt8]
    private var lastUpdate: (Date, [UInt8])?

    init(regions: Int, services: Int, date: Int, dateTime: Int, link: Int) {
        keys = [Int32](repeating: -1, count: regions)
        names = keys
        serviceIDs = [Int32](repeating: -1, count: services)
        serviceNames = serviceIDs
        regionLevels = keys
        themenfelder = [Int](repeating: 0, count: services)
        self.date = Array(" s=\"\(date)\"".utf8)
        self.dateTime = Array(" s=\"\(dateTime)\"".utf8)
        self.link = Array(" s=\"\(link)\"".utf8)
    }

    /// The longest text a cell holds (Excel's limit, in characters).
    static let maximumTextLength = 32_767

    /// `text` as cell content: a literal `_xHHHH_` escaped (``XLSXSheet/cellText(_:)``), control characters other
    /// than tab and line feed as `_xHHHH_` (as libxlsxwriter writes them), `&`, `<`, `>` as entities; whether it
    /// begins or ends with white space (then `xml:space="preserve"`).
    static func escaped(_ text: String) throws(XLSXError) -> (bytes: [UInt8], preserve: Bool) {
        if text.utf8.count > maximumTextLength && text.unicodeScalars.count > maximumTextLength {
            throw XLSXError.library(
                message: "String exceeds Excel's limit of 32,767 characters.", context: "text beginning \(String(text.prefix(40)).quotedForMessage)")
        }
        let bytes = ByteWriter.encoded { out in appendEscaped(XLSXSheet.cellText(text), to: &out) }
        let preserve = bytes.first.map(isSpace) == true || bytes.last.map(isSpace) == true
        return (bytes, preserve)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func appendEscaped(_ text: String, to out: inout ByteWriter) {
        var text = text
        text.withUTF8 { bytes in
            var plain = 0  // start of the bytes not yet written
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x3F else { continue }
                let replacement: StaticString
                switch byte {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case 0x09, 0x0A: continue
                case 0..<0x20: replacement = "_x00"
                default: continue
                }
                out.append(UnsafeBufferPointer(rebasing: bytes[plain..<index]))
                out.append(replacement)
                if byte < 0x20 {
                    out.append(ascii: hex[Int(byte >> 4)])
                    out.append(ascii: hex[Int(byte & 0xF)])
                    out.append(ascii: UInt8(ascii: "_"))
                }
                plain = index + 1
            }
            out.append(UnsafeBufferPointer(rebasing: bytes[plain..<bytes.count]))
        }
    }

    private static let columnLetters: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// A cell reference such as `N12`.
    static func reference(column: Int, row: Int) -> [UInt8] { [columnLetters[column]] + Array(String(row).utf8) }

    /// The column a cell without a reference would be in, and the row being written (1-based, as in `N12`).
    private var next = 0
    private var excelRow = 0

    @inline(__always)
    private mutating func open(_ column: Int, _ out: inout ByteWriter) {
        if column == next {
            out.append("<c")
        } else {
            out.append("<c r=\"")
            out.append(ascii: Self.columnLetters[column])
            out.appendDecimal(excelRow)
            out.append(ascii: UInt8(ascii: "\""))
        }
        next = column + 1
    }

    @inline(__always)
    private mutating func shared(_ column: Int, _ index: Int32, _ out: inout ByteWriter) {
        open(column, &out)
        strings.appendCell(index, to: &out)
    }

    @inline(__always)
    private mutating func integer(_ column: Int, _ value: Int, style: [UInt8]?, _ out: inout ByteWriter) {
        open(column, &out)
        if let style { style.withUnsafeBufferPointer { out.append($0) } }
        out.append("><v>")
        out.appendDecimal(value)
        out.append("</v></c>")
    }

    @inline(__always)
    private mutating func boolean(_ column: Int, _ value: Bool, _ out: inout ByteWriter) {
        open(column, &out)
        out.append(value ? " t=\"b\"><v>1</v></c>" : " t=\"b\"><v>0</v></c>")
    }

    /// An inline string cell, escaped straight into `out` (no copy of the text on the common path).
    private mutating func inline(_ column: Int, _ text: String, style: [UInt8]?, _ out: inout ByteWriter) throws(XLSXError) {
        guard !text.isEmpty else { return }
        let utf8 = text.utf8
        if utf8.count > Self.maximumTextLength && text.unicodeScalars.count > Self.maximumTextLength {
            _ = try Self.escaped(text)  // throws the error
        }
        let content = utf8.contains(UInt8(ascii: "_")) ? XLSXSheet.cellText(text) : text
        let first = content.utf8.first ?? 0
        let last = content.utf8.last ?? 0
        let preserve = first == 0x20 || first == 0x09 || first == 0x0A || last == 0x20 || last == 0x09 || last == 0x0A
        open(column, &out)
        if let style { style.withUnsafeBufferPointer { out.append($0) } }
        out.append(preserve ? " t=\"inlineStr\"><is><t xml:space=\"preserve\">" : " t=\"inlineStr\"><is><t>")
        Self.appendEscaped(content, to: &out)
        out.append("</t></is></c>")
    }

    /// Writes one row. Returns `false` when the row's URL was written as text (for lack of room for links, or
    /// because it is not an http(s) URL Excel takes).
    mutating func row(
        _ view: RowView, regions: [Region], services: [OZGService], provenance: Bool, excelRow: Int, links: DataSheetLinks,
        out: inout ByteWriter
    ) throws -> Bool {
        next = 0
        self.excelRow = excelRow
        out.append("<row>")
        if levels.isEmpty {
            for level in RegionLevel.allCases { levels.append(try strings.add(level.rawValue)) }
            for status in Status.allCases.sorted(by: { $0.code < $1.code }) {
                statusCodes.append(try strings.add(status.rawValue))
                statusGerman.append(try strings.add(status.german))
            }
            untracked = try strings.add("untracked")
            untrackedGerman = try strings.add("nicht erfasst")
        }
        let regionIndex = view.region
        if keys[regionIndex] < 0 {
            let region = regions[regionIndex]
            keys[regionIndex] = try strings.add(region.key.description)
            names[regionIndex] = try strings.add(region.name)
            regionLevels[regionIndex] = levels[RegionLevel.allCases.firstIndex(of: region.level) ?? 0]
        }
        shared(0, keys[regionIndex], &out)
        shared(1, names[regionIndex], &out)
        shared(2, regionLevels[regionIndex], &out)
        boolean(3, view.isReportingUnit, &out)
        let serviceIndex = view.service
        if serviceIDs[serviceIndex] < 0 {
            let service = services[serviceIndex]
            serviceIDs[serviceIndex] = try strings.add(service.id.description)
            serviceNames[serviceIndex] = try strings.add(service.name)
            themenfelder[serviceIndex] = service.themenfeld
        }
        shared(4, serviceIDs[serviceIndex], &out)
        shared(5, serviceNames[serviceIndex], &out)
        integer(6, themenfelder[serviceIndex], style: nil, &out)
        var linked = true
        if let values = view.values {
            shared(7, statusCodes[values.status.code], &out)
            shared(8, statusGerman[values.status.code], &out)
            if let maturity = values.maturity { integer(9, maturity, style: nil, &out) }
            if let model = values.maturityModel { integer(10, model.rawValue, style: nil, &out) }
            if let planned = values.planned { integer(11, Int(ExcelDate.serial(planned)), style: date, &out) }
            if let since = values.onlineSince { integer(12, Int(ExcelDate.serial(since)), style: date, &out) }
            if let url = values.url {
                var isLink = false
                if links.hasRoom, url.utf8.count <= XLSXSheet.maximumURLLength, url.hasPrefix("https://") || url.hasPrefix("http://"),
                    let target = url.withCString({ lxw_escape_url_characters($0, 0) })
                {
                    defer { free(target) }
                    try links.add(reference: Self.reference(column: 13, row: excelRow), target: target)
                    isLink = true
                }
                try inline(13, url, style: isLink ? link : nil, &out)
                linked = isLink
            }
            if let solution = values.solution { try inline(14, solution, style: nil, &out) }
            if let note = values.note { try inline(15, note, style: nil, &out) }
        } else {
            shared(7, untracked, &out)
            shared(8, untrackedGerman, &out)
        }
        boolean(16, view.isOnline, &out)
        boolean(17, view.isOnlineIncludingHigherLevel, &out)
        if let via = view.via { try inline(18, via.description, style: nil, &out) }
        if provenance, let updatedAt = view.updatedAt {
            let value: [UInt8]
            if let last = lastUpdate, last.0 == updatedAt {
                value = last.1
            } else {
                value = Self.number(ExcelDate.serial(updatedAt))
                lastUpdate = (updatedAt, value)
            }
            open(19, &out)
            dateTime.withUnsafeBufferPointer { out.append($0) }
            out.append("><v>")
            out.append(value)
            out.append("</v></c>")
            if let by = view.updatedBy { try inline(20, by, style: nil, &out) }
            if let source = view.source { try inline(21, source, style: nil, &out) }
        }
        out.append("</row>")
        return linked
    }

    /// A number as libxlsxwriter writes it (`%.16G`).
    static func number(_ value: Double) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress, 32, "%.16G", $0) }
            return (0..<Int(max(0, min(count, 31)))).map { UInt8(bitPattern: buffer[$0]) }
        }
    }
}

extension ByteWriter {
    /// Appends a non-negative integer in decimal, without allocating.
    @inline(__always)
    mutating func appendDecimal(_ value: Int) {
        if value >= 0 && value < 10 {
            append(ascii: UInt8(0x30 + value))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of room
        withUnsafeMutableBytes(of: &digits) { buffer in
            var rest = value.magnitude
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(0x30 + rest % 10)
                rest /= 10
            } while rest > 0
            if value < 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "-")
            }
            append(UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[index...]))
        }
    }
}
