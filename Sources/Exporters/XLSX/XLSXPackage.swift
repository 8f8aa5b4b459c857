import Foundation
import OZGCore

/// Puts the XLSX package together: the parts libxlsxwriter wrote (the summary sheets, charts, styles, the
/// workbook; its Daten sheets hold only their header row) are copied as they are, compressed bytes and all, and
/// each Daten sheet is replaced by libxlsxwriter's start of that sheet, ozgtrack's rows (compressed while the
/// report ran) and libxlsxwriter's end of the sheet, plus the shared strings and the sheets' hyperlinks.
///
/// Why not libxlsxwriter alone: for the Land report of the benchmark data (613,257 rows) it took 8.5–13× the
/// CSV report of the same scope (docs/performance.md), 41 % of the time in zlib (it deflates every sheet at
/// level 6 on one thread when the workbook is closed, with no option to choose the level) and 28 % in `fprintf`
/// and `malloc` per cell. Here the rows' XML is made with ``RowBuffer`` (shared strings, no per-cell
/// allocation) and deflated with ISA-L (level 1) on a second thread while the report runs; the figures are in
/// docs/performance.md.
enum XLSXPackage {
    static let sharedStringsPart = "xl/sharedStrings.xml"

    /// The assembled package, into `sink`.
    static func write(
        libxlsxwriterFile path: String, dataParts: [Int], bodies: [DeflatingSink.Part], compressed: ScratchFile,
        links: DataSheetLinks, strings: SharedStrings, dataRows: [Int], columns: Int, to sink: any OutputSink
    ) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw XLSXError.output("cannot read back \(path): \(String(cString: strerror(errno)))")
        }
        let entries = try readZip(Array(data), name: path)
        guard let first = entries.first, dataParts.count == bodies.count, bodies.count == links.sheets.count else {
            throw XLSXError.output("the workbook's parts do not match its Daten sheets")
        }
        let names = Set(entries.map(\.name))
        guard !names.contains(sharedStringsPart) else {
            throw XLSXError.output("libxlsxwriter wrote a shared-string table (not expected in constant-memory mode)")
        }
        let deflater = try RawDeflater(level: 6)
        // The Daten sheets' link relationships are large (12 MB for the Land report's 65,530 links) and compressed
        // here, after the rows, on one core: with zlib at level 6 that took 0.06 s (437 KB), at level 1 0.02 s
        // (486 KB; Python's zlib on the Land report's part); with ISA-L, as the rows.
        let fast = FastDeflater()
        var zip = ZipWriter(sink: sink)
        func add(_ name: String, _ bytes: [UInt8], fast isFast: Bool = false) throws {
            let compressed = isFast ? try fast.compressed(bytes) : try deflater.compressed(bytes, flush: .finish)
            try zip.add(
                name: name, method: 8, crc: bytes.withUnsafeBytes { CRC32.fastUpdate(0, $0) }, size: bytes.count, time: first.time, date: first.date,
                data: compressed[...])
        }
        func text(_ entry: ZipEntry) throws -> String {
            String(decoding: entry.method == 8 ? try rawInflate(entry.data, size: entry.size) : Array(entry.data), as: UTF8.self)
        }
        let sheetNames = Dictionary(uniqueKeysWithValues: dataParts.enumerated().map { ("xl/worksheets/sheet\($1).xml", $0) })
        for entry in entries {
            if let index = sheetNames[entry.name] {
                let rels = "xl/worksheets/_rels/sheet\(dataParts[index]).xml.rels"
                if links.sheets[index] != nil, names.contains(rels) {
                    throw XLSXError.output("libxlsxwriter wrote relationships for a Daten sheet (not expected)")
                }
                try dataSheet(
                    entry, placeholder: try text(entry), body: bodies[index], compressed: compressed,
                    hyperlinks: links.sheets[index]?.elements, rows: dataRows[index], columns: columns, deflater: deflater,
                    zip: &zip)
            } else if entry.name == "[Content_Types].xml" {
                try add(
                    entry.name,
                    try insert(
                        "<Override PartName=\"/\(sharedStringsPart)\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>",
                        before: "</Types>", in: try text(entry), part: entry.name))
            } else if entry.name == "xl/_rels/workbook.xml.rels" {
                let relationships = try text(entry)
                let id = relationships.components(separatedBy: "<Relationship ").count
                try add(
                    entry.name,
                    try insert(
                        "<Relationship Id=\"rId\(id)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>",
                        before: "</Relationships>", in: relationships, part: entry.name))
            } else {
                try zip.add(
                    name: entry.name, method: entry.method, crc: entry.crc, size: entry.size, time: entry.time, date: entry.date,
                    data: entry.data)
            }
        }
        try add(sharedStringsPart, strings.part)
        for (index, sheet) in links.sheets.enumerated() {
            guard let sheet else { continue }
            var bytes: [UInt8] = []
            try links.file.copy(offset: sheet.rels.offset, length: sheet.rels.length) { bytes.append(contentsOf: $0) }
            try add("xl/worksheets/_rels/sheet\(dataParts[index]).xml.rels", bytes, fast: true)
        }
        try zip.finish()
    }

    private static func insert(_ addition: String, before marker: String, in text: String, part: String) throws(XLSXError) -> [UInt8] {
        guard let range = text.range(of: marker, options: .backwards) else {
            throw XLSXError.output("the part \(part) that libxlsxwriter wrote has no \(marker)")
        }
        return Array((text[..<range.lowerBound] + addition + text[range.lowerBound...]).utf8)
    }

    /// One Daten sheet: libxlsxwriter's sheet up to the end of its header row, the rows, then the rest of
    /// libxlsxwriter's sheet with the hyperlinks put in their place; three raw deflate streams one after the
    /// other (the first two end on a byte boundary without a last block), so the rows are not compressed again.
    private static func dataSheet(
        _ entry: ZipEntry, placeholder: String, body: DeflatingSink.Part, compressed: ScratchFile, hyperlinks: [UInt8]?,
        rows: Int, columns: Int, deflater: RawDeflater, zip: inout ZipWriter
    ) throws {
        guard let end = placeholder.range(of: "</sheetData>") else {
            throw XLSXError.output("the Daten sheet \(entry.name) that libxlsxwriter wrote has no sheet data")
        }
        var head = String(placeholder[..<end.lowerBound])
        var tail = String(placeholder[end.lowerBound...])
        // The used range, now that the rows are known.
        if let start = head.range(of: "<dimension ref=\""), let close = head[start.upperBound...].firstIndex(of: "\"") {
            let last = Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8(columns - 1)))
            head.replaceSubrange(start.upperBound..<close, with: "A1:\(last)\(rows + 1)")
        }
        if let hyperlinks {
            if !head.contains("xmlns:r=") {
                head = head.replacingOccurrences(
                    of: "<worksheet ", with: "<worksheet xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" ")
            }
            // CT_Worksheet's order: … autoFilter … hyperlinks, printOptions, pageMargins, pageSetup, … drawing ….
            let following = ["<printOptions", "<pageMargins", "<pageSetup", "<headerFooter", "<drawing", "<legacyDrawing", "<tableParts", "<extLst", "</worksheet>"]
            guard let position = following.compactMap({ tail.range(of: $0)?.lowerBound }).min() else {
                throw XLSXError.output("the Daten sheet \(entry.name) that libxlsxwriter wrote has no end")
            }
            tail.insert(contentsOf: String(decoding: hyperlinks, as: UTF8.self), at: position)
        }
        let headBytes = Array(head.utf8)
        let tailBytes = Array(tail.utf8)
        let headCompressed = try deflater.compressed(headBytes, flush: .sync)
        let tailCompressed = try deflater.compressed(tailBytes, flush: .finish)
        let crc = CRC32.combine(
            CRC32.combine(CRC32.of(headBytes), body.crc, length: body.size), CRC32.of(tailBytes), length: tailBytes.count)
        try zip.add(
            name: entry.name, method: 8, crc: crc, compressedSize: headCompressed.count + body.compressedSize + tailCompressed.count,
            size: headBytes.count + body.size + tailBytes.count, time: entry.time, date: entry.date
        ) { emit in
            try headCompressed.withUnsafeBytes { try emit($0) }
            try compressed.copy(offset: body.offset, length: body.compressedSize, to: emit)
            try tailCompressed.withUnsafeBytes { try emit($0) }
        }
    }
}
