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
        var out = RowBuffer(sink: deflating)
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
/// service's ID and name, the status, who changed a record and from where) are stored once and referenced by
/// number (less to format, less to compress: with this and without cell references a row of the Land report is
/// about 430 bytes of XML, against about 830 from libxlsxwriter's inline strings). Texts that rarely repeat (URLs,
/// solutions, notes) stay inline.
struct SharedStrings {
    /// The `<si>` elements.
    private(set) var xml: [UInt8] = []
    private(set) var count = 0

    /// Adds `text` (not empty); its number.
    mutating func add(_ text: String) throws(XLSXError) -> Int32 {
        let escaped = try DataRowEncoder.escaped(text)
        xml.append(contentsOf: escaped.preserve ? Array("<si><t xml:space=\"preserve\">".utf8) : Array("<si><t>".utf8))
        xml.append(contentsOf: escaped.bytes)
        xml.append(contentsOf: Array("</t></si>".utf8))
        count += 1
        return Int32(count - 1)
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
    ///
    /// Without an array or string made per link, and the URL copied in runs between the characters XML escapes:
    /// the version that did both was 4 % of the Land report's samples for its 65,530 links (`perf record`).
    func add(reference: (column: UInt8, row: Int), target: UnsafePointer<CChar>) throws {
        if count == 0 {
            rels.append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">")
        }
        count += 1
        Self.append("<hyperlink ref=\"", to: &elements)
        elements.append(reference.column)
        Self.withDecimal(reference.row) { elements.append(contentsOf: $0) }
        Self.append("\" r:id=\"rId", to: &elements)
        Self.withDecimal(count) { elements.append(contentsOf: $0) }
        Self.append("\"/>", to: &elements)
        rels.append("<Relationship Id=\"rId")
        Self.withDecimal(count) { rels.append($0) }
        rels.append("\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"")
        let length = strlen(target)
        target.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            var plain = 0
            for index in 0..<length {
                let replacement: StaticString
                switch bytes[index] {
                case UInt8(ascii: "&"): replacement = "&amp;"
                case UInt8(ascii: "<"): replacement = "&lt;"
                case UInt8(ascii: ">"): replacement = "&gt;"
                case UInt8(ascii: "\""): replacement = "&quot;"
                default: continue
                }
                rels.append(UnsafeBufferPointer(start: bytes + plain, count: index - plain))
                rels.append(replacement)
                plain = index + 1
            }
            rels.append(UnsafeBufferPointer(start: bytes + plain, count: length - plain))
        }
        rels.append("\" TargetMode=\"External\"/>")
        try rels.flushIfFull()
    }

    private static func append(_ text: StaticString, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Calls `body` with the decimal digits of a non-negative integer (no allocation).
    private static func withDecimal(_ value: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of room
        withUnsafeMutableBytes(of: &digits) { buffer in
            var rest = value.magnitude
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(0x30 + rest % 10)
                rest /= 10
            } while rest > 0
            body(UnsafeBufferPointer(rebasing: buffer.bindMemory(to: UInt8.self)[index...]))
        }
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

/// Where escaped cell text goes (``DataRowEncoder/appendEscaped(_:to:)``).
protocol CellTextOutput: ~Copyable {
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>)
    mutating func append(_ text: StaticString)
    mutating func append(byte: UInt8)
}

extension ByteWriter: CellTextOutput {
    mutating func append(byte: UInt8) { append(ascii: byte) }
}

extension RowBuffer: CellTextOutput {}

/// The Daten rows' XML on its way to the ``DeflatingSink``: a byte buffer whose appends are compiled into the row
/// encoder.
///
/// Why not ``ByteWriter`` (OZGCore) as before: its append of a byte span was not inlined into this module, and a
/// row was some forty such appends of a few bytes each; the out-of-line call was 15 % of the formatting thread's
/// samples and `memmove` another 11 % (`perf record`, Land report of a Land-only database, release build), on the
/// thread that bounds the report's time once the rows are compressed with ISA-L. With whole runs of cells prepared
/// once (``DataRowEncoder``) a row is now a handful of copies into this buffer.
struct RowBuffer: ~Copyable {
    private var pointer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private let sink: DeflatingSink
    /// Bytes gathered before they go to the sink.
    static let chunk = 1 << 20

    init(sink: DeflatingSink) {
        capacity = Self.chunk + (256 << 10)
        pointer = .allocate(capacity: capacity)
        self.sink = sink
    }

    deinit { pointer.deallocate() }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    @inline(never)
    private mutating func grow(_ extra: Int) {
        var grown = capacity * 2
        while count + extra > grown { grown *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = bigger
        capacity = grown
    }

    @inline(__always)
    mutating func append(_ base: UnsafePointer<UInt8>, count length: Int) {
        reserve(length)
        if length <= 16 {
            for offset in 0..<length { pointer[count + offset] = base[offset] }
        } else {
            (pointer + count).update(from: base, count: length)
        }
        count += length
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress else { return }
        append(base, count: bytes.count)
    }

    @inline(__always)
    mutating func append(_ text: StaticString) { append(text.utf8Start, count: text.utf8CodeUnitCount) }

    @inline(__always)
    mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    @inline(__always)
    mutating func append(byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count += 1
    }

    /// Appends a non-negative integer in decimal.
    @inline(__always)
    mutating func appendDecimal(_ value: Int) {
        reserve(20)
        if value >= 0 && value < 10 {
            pointer[count] = UInt8(0x30 + value)
            count += 1
            return
        }
        var digits = 0
        var rest = value.magnitude
        repeat {
            digits += 1
            rest /= 10
        } while rest > 0
        rest = value.magnitude
        var index = count + digits
        repeat {
            index -= 1
            pointer[index] = UInt8(0x30 + rest % 10)
            rest /= 10
        } while rest > 0
        count += digits
    }

    /// Hands the buffer to the sink once a chunk is full.
    @inline(__always)
    mutating func flushIfFull() throws {
        if count >= Self.chunk { try flush() }
    }

    /// Hands everything buffered to the sink.
    mutating func flush() throws {
        guard count > 0 else { return }
        try sink.write(bytes: UnsafeRawBufferPointer(start: pointer, count: count))
        count = 0
    }
}

/// Writes the Daten rows as SpreadsheetML (`<row><c …>…</c>…</row>`), as libxlsxwriter would write the same
/// cells: the same types, styles and escapes, so the sheets read back identically. Differences that readers do
/// not see: repeated texts are shared strings, and cells carry no `r="B7"` reference unless a cell before them
/// in the row is empty (the reference is optional in SpreadsheetML: a cell without one is the next column).
///
/// The cells that repeat are prepared once as bytes and copied whole: a region's first four cells (with `<row>`),
/// a service's three, a status's two, the two online flags, and the change time with who and where from (the same
/// for every row of one batch).
struct DataRowEncoder: ~Copyable {
    private(set) var strings = SharedStrings()
    /// Prepared runs of cells, in one array (``Span`` points into it).
    private var arena: [UInt8] = []
    /// Per region (twice: as a reporting unit and not) its cells 0–3 with `<row>` before them.
    private var regionSpans: [Span]
    /// Per service its cells 4–6.
    private var serviceSpans: [Span]
    /// Per status code its cells 7–8; then the cells of an untracked row.
    private var statusSpans: [Span] = []
    private var untrackedSpan = Span.none
    /// The shared strings of who changed a record and from where (``SharedStrings`` numbers), by text.
    private var provenanceStrings: [String: Int32] = [:]
    /// The style attributes (` s="N"`) of dates, date-times and links.
    private let date: [UInt8]
    private let dateTime: [UInt8]
    private let link: [UInt8]
    /// The cells 19–21 of the last row (after the date-time cell's `<c` and reference): its change time, who, from
    /// where — the same for all rows of one batch.
    private var lastProvenance: (at: Date, by: String?, source: String?, cells: [UInt8])?

    /// A run of prepared bytes in ``arena``.
    struct Span {
        var start: Int32
        var count: Int32
        static let none = Span(start: 0, count: -1)
        var isNone: Bool { count < 0 }
    }

    init(regions: Int, services: Int, date: Int, dateTime: Int, link: Int) {
        regionSpans = [Span](repeating: .none, count: 2 * regions)
        regionIndices = [(key: Int32, name: Int32)](repeating: (-1, -1), count: regions)
        serviceSpans = [Span](repeating: .none, count: services)
        self.date = Array(" s=\"\(date)\"".utf8)
        self.dateTime = Array(" s=\"\(dateTime)\"".utf8)
        self.link = Array(" s=\"\(link)\"".utf8)
    }

    /// The longest text a cell holds (Excel's limit, in characters).
    static let maximumTextLength = 32_767

    /// Provenance texts shared past this many strings in the table are written inline instead (memory stays
    /// bounded whatever the store's batches hold).
    static let sharedProvenanceLimit = 100_000

    /// `text` as cell content: a literal `_xHHHH_` escaped (``XLSXSheet/cellText(_:)``), control characters other
    /// than tab and line feed as `_xHHHH_` (as libxlsxwriter writes them), `&`, `<`, `>` as entities; whether it
    /// begins or ends with white space (then `xml:space="preserve"`).
    static func escaped(_ text: String) throws(XLSXError) -> (bytes: [UInt8], preserve: Bool) {
        if text.utf8.count > maximumTextLength && text.unicodeScalars.count > maximumTextLength {
            throw XLSXError.library(
                message: "String exceeds Excel's limit of 32,767 characters.", context: "text beginning \(String(text.prefix(40)).quotedForMessage)")
        }
        var cell = XLSXSheet.cellText(text)
        let bytes = ByteWriter.encoded { out in cell.withUTF8 { appendEscaped($0, to: &out) } }
        let preserve = bytes.first.map(isSpace) == true || bytes.last.map(isSpace) == true
        return (bytes, preserve)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The replacement of a byte in cell text (`nil`: the byte stays).
    @inline(__always)
    private static func replacement(_ byte: UInt8) -> StaticString? {
        guard byte < 0x3F else { return nil }
        switch byte {
        case UInt8(ascii: "&"): return "&amp;"
        case UInt8(ascii: "<"): return "&lt;"
        case UInt8(ascii: ">"): return "&gt;"
        case 0x09, 0x0A: return nil
        case 0..<0x20: return "_x00"
        default: return nil
        }
    }

    /// Appends `bytes` (cell text) escaped: the rows' buffer while rows are written, a ``ByteWriter`` for text
    /// prepared once.
    static func appendEscaped<Output: CellTextOutput & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout Output) {
        var plain = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard let replacement = replacement(byte) else { continue }
            out.append(UnsafeBufferPointer(rebasing: bytes[plain..<index]))
            out.append(replacement)
            if byte < 0x20 {
                out.append(byte: hex[Int(byte >> 4)])
                out.append(byte: hex[Int(byte & 0xF)])
                out.append(byte: UInt8(ascii: "_"))
            }
            plain = index + 1
        }
        out.append(UnsafeBufferPointer(rebasing: bytes[plain..<bytes.count]))
    }

    private static let columnLetters: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// The column a cell without a reference would be in, and the row being written (1-based, as in `N12`).
    private var next = 0
    private var excelRow = 0

    @inline(__always)
    private mutating func open(_ column: Int, _ out: inout RowBuffer) {
        if column == next {
            out.append("<c")
        } else {
            out.append("<c r=\"")
            out.append(byte: Self.columnLetters[column])
            out.appendDecimal(excelRow)
            out.append(byte: UInt8(ascii: "\""))
        }
        next = column + 1
    }

    @inline(__always)
    private func append(_ span: Span, _ out: inout RowBuffer) {
        arena.withUnsafeBufferPointer { all in
            if let base = all.baseAddress { out.append(base + Int(span.start), count: Int(span.count)) }
        }
    }

    /// Prepares a run of cells: what `body` appends to the arena.
    private mutating func prepare(_ body: (inout [UInt8]) throws(XLSXError) -> Void) throws(XLSXError) -> Span {
        let start = arena.count
        try body(&arena)
        return Span(start: Int32(start), count: Int32(arena.count - start))
    }

    /// A shared-string cell without a reference: `<c t="s"><v>N</v></c>`.
    private static func sharedCell(_ index: Int32, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: Array("<c t=\"s\"><v>\(index)</v></c>".utf8))
    }

    @inline(__always)
    private mutating func integer(_ column: Int, _ value: Int, style: [UInt8]?, _ out: inout RowBuffer) {
        open(column, &out)
        if let style { out.append(style) }
        out.append("><v>")
        out.appendDecimal(value)
        out.append("</v></c>")
    }

    /// An inline string cell, escaped straight into `out` (no copy of the text on the common path).
    private mutating func inline(_ column: Int, _ text: String, style: [UInt8]?, _ out: inout RowBuffer) throws(XLSXError) {
        guard !text.isEmpty else { return }
        var text = text
        // Most texts (URLs, solutions, notes) have nothing to escape: one scan, then one copy.
        let plain = text.withUTF8 { bytes in
            for byte in bytes where byte == UInt8(ascii: "_") || Self.replacement(byte) != nil { return false }
            return true
        }
        if text.utf8.count > Self.maximumTextLength && text.unicodeScalars.count > Self.maximumTextLength {
            _ = try Self.escaped(text)  // throws the error
        }
        if !plain && text.utf8.contains(UInt8(ascii: "_")) { text = XLSXSheet.cellText(text) }
        open(column, &out)
        if let style { out.append(style) }
        text.withUTF8 { bytes in
            let first = bytes.first ?? 0
            let last = bytes.last ?? 0
            let preserve = first == 0x20 || first == 0x09 || first == 0x0A || last == 0x20 || last == 0x09 || last == 0x0A
            out.append(preserve ? " t=\"inlineStr\"><is><t xml:space=\"preserve\">" : " t=\"inlineStr\"><is><t>")
            if plain { out.append(bytes) } else { Self.appendEscaped(bytes, to: &out) }
            out.append("</t></is></c>")
        }
    }

    /// Adds the texts every sheet needs first (in the order the table has always had them).
    private mutating func start() throws(XLSXError) {
        var levels: [Int32] = []
        for level in RegionLevel.allCases { levels.append(try strings.add(level.rawValue)) }
        self.levels = levels
        let statuses = Status.allCases.sorted(by: { $0.code < $1.code })
        var codes: [Int32] = []
        var german: [Int32] = []
        for status in statuses {
            codes.append(try strings.add(status.rawValue))
            german.append(try strings.add(status.german))
        }
        let untracked = try strings.add("untracked")
        let untrackedGerman = try strings.add("nicht erfasst")
        for (code, german) in zip(codes, german) {
            statusSpans.append(
                try prepare { bytes in
                    Self.sharedCell(code, to: &bytes)
                    Self.sharedCell(german, to: &bytes)
                })
        }
        untrackedSpan = try prepare { bytes in
            Self.sharedCell(untracked, to: &bytes)
            Self.sharedCell(untrackedGerman, to: &bytes)
        }
    }
    private var levels: [Int32] = []

    /// The number of a provenance text in the shared strings (nil: write it inline, the table is full).
    private mutating func provenanceString(_ text: String) throws(XLSXError) -> Int32? {
        if let index = provenanceStrings[text] { return index }
        guard strings.count < Self.sharedProvenanceLimit else { return nil }
        let index = try strings.add(text)
        provenanceStrings[text] = index
        return index
    }

    /// Writes one row. Returns `false` when the row's URL was written as text (for lack of room for links, or
    /// because it is not an http(s) URL Excel takes).
    mutating func row(
        _ view: RowView, regions: [Region], services: [OZGService], provenance: Bool, excelRow: Int, links: DataSheetLinks,
        out: inout RowBuffer
    ) throws -> Bool {
        self.excelRow = excelRow
        if statusSpans.isEmpty { try start() }
        let regionSlot = 2 * view.region + (view.isReportingUnit ? 1 : 0)
        if regionSpans[regionSlot].isNone {
            let region = regions[view.region]
            let other = 2 * view.region + (view.isReportingUnit ? 0 : 1)
            // The key and name once per region, whichever flag comes first.
            let (key, name): (Int32, Int32)
            if regionSpans[other].isNone {
                key = try strings.add(region.key.description)
                name = try strings.add(region.name)
            } else {
                (key, name) = regionIndices[view.region]
            }
            regionIndices[view.region] = (key, name)
            let level = levels[RegionLevel.allCases.firstIndex(of: region.level) ?? 0]
            let reporting = view.isReportingUnit
            regionSpans[regionSlot] = try prepare { bytes in
                bytes.append(contentsOf: Array("<row>".utf8))
                Self.sharedCell(key, to: &bytes)
                Self.sharedCell(name, to: &bytes)
                Self.sharedCell(level, to: &bytes)
                bytes.append(contentsOf: Array(reporting ? "<c t=\"b\"><v>1</v></c>".utf8 : "<c t=\"b\"><v>0</v></c>".utf8))
            }
        }
        append(regionSpans[regionSlot], &out)
        let serviceIndex = view.service
        if serviceSpans[serviceIndex].isNone {
            let service = services[serviceIndex]
            let id = try strings.add(service.id.description)
            let name = try strings.add(service.name)
            serviceSpans[serviceIndex] = try prepare { bytes in
                Self.sharedCell(id, to: &bytes)
                Self.sharedCell(name, to: &bytes)
                bytes.append(contentsOf: Array("<c><v>\(service.themenfeld)</v></c>".utf8))
            }
        }
        append(serviceSpans[serviceIndex], &out)
        next = 9
        var linked = true
        if let values = view.values {
            append(statusSpans[values.status.code], &out)
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
                    try links.add(reference: (Self.columnLetters[13], excelRow), target: target)
                    isLink = true
                }
                try inline(13, url, style: isLink ? link : nil, &out)
                linked = isLink
            }
            if let solution = values.solution { try inline(14, solution, style: nil, &out) }
            if let note = values.note { try inline(15, note, style: nil, &out) }
        } else {
            append(untrackedSpan, &out)
        }
        let online = view.isOnline
        let including = view.isOnlineIncludingHigherLevel
        if next != 16 {
            open(16, &out)
            out.append(online ? " t=\"b\"><v>1</v></c>" : " t=\"b\"><v>0</v></c>")
            out.append(including ? "<c t=\"b\"><v>1</v></c>" : "<c t=\"b\"><v>0</v></c>")
        } else if online {
            out.append(including ? "<c t=\"b\"><v>1</v></c><c t=\"b\"><v>1</v></c>" : "<c t=\"b\"><v>1</v></c><c t=\"b\"><v>0</v></c>")
        } else {
            out.append(including ? "<c t=\"b\"><v>0</v></c><c t=\"b\"><v>1</v></c>" : "<c t=\"b\"><v>0</v></c><c t=\"b\"><v>0</v></c>")
        }
        next = 18
        if let via = view.via { try inline(18, via.description, style: nil, &out) }
        if provenance, let updatedAt = view.updatedAt {
            let by = view.updatedBy
            let source = view.source
            open(19, &out)
            if let last = lastProvenance, last.at == updatedAt, last.by == by, last.source == source {
                out.append(last.cells)
                next = 22
            } else if let cells = try provenanceCells(at: updatedAt, by: by, source: source) {
                lastProvenance = (updatedAt, by, source, cells)
                out.append(cells)
                next = 22
            } else {
                // Who or where from written inline, or where from without who (then with a reference).
                out.append(dateTime)
                out.append("><v>")
                out.append(Self.number(ExcelDate.serial(updatedAt)))
                out.append("</v></c>")
                if let by { try inline(20, by, style: nil, &out) }
                if let source { try inline(21, source, style: nil, &out) }
            }
        }
        out.append("</row>")
        return linked
    }
    /// Per region the numbers of its key and name in the shared strings.
    private var regionIndices: [(key: Int32, name: Int32)]

    /// The cells 19–21 after `<c` (no reference needed after them): the change time, who and where from as shared
    /// strings; nil when they cannot be prepared so (where from without who, or the table is full).
    private mutating func provenanceCells(at: Date, by: String?, source: String?) throws(XLSXError) -> [UInt8]? {
        let byText = by.flatMap { $0.isEmpty ? nil : $0 }
        let sourceText = source.flatMap { $0.isEmpty ? nil : $0 }
        if byText == nil && sourceText != nil { return nil }
        var byIndex: Int32?
        var sourceIndex: Int32?
        if let byText {
            guard let index = try provenanceString(byText) else { return nil }
            byIndex = index
        }
        if let sourceText {
            guard let index = try provenanceString(sourceText) else { return nil }
            sourceIndex = index
        }
        var cells = dateTime + Array("><v>".utf8) + Self.number(ExcelDate.serial(at)) + Array("</v></c>".utf8)
        if let byIndex { Self.sharedCell(byIndex, to: &cells) }
        if let sourceIndex { Self.sharedCell(sourceIndex, to: &cells) }
        return cells
    }

    /// A number as libxlsxwriter writes it (`%.16G`).
    static func number(_ value: Double) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress, 32, "%.16G", $0) }
            return (0..<Int(max(0, min(count, 31)))).map { UInt8(bitPattern: buffer[$0]) }
        }
    }
}
