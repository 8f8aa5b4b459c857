import Foundation
import OZGCore
import Testing

@testable import Exporters

/// Runs `scripts/xlsx-check.py` (openpyxl; LibreOffice for `libreoffice`). Returns its output, or `nil` when a
/// reader is missing and `OZGTRACK_QUICK=1` (the test is then skipped); missing readers otherwise fail the test
/// with what to install.
func xlsxCheck(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", packageRoot.appendingPathComponent("scripts/xlsx-check.py").path] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
        try process.run()
    } catch {
        return missingReader("python3 cannot be started: \(error)", sourceLocation: sourceLocation)
    }
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let stdout = String(decoding: outData, as: UTF8.self)
    let stderr = String(decoding: errData, as: UTF8.self)
    switch process.terminationStatus {
    case 0: return stdout
    case 3, 127: return missingReader(stderr, sourceLocation: sourceLocation)
    default:
        Issue.record("xlsx-check.py \(arguments.first ?? "") failed:\n\(stdout)\(stderr)", sourceLocation: sourceLocation)
        return nil
    }
}

private func missingReader(_ message: String, sourceLocation: SourceLocation) -> String? {
    if ProcessInfo.processInfo.environment["OZGTRACK_QUICK"] == "1" { return nil }
    Issue.record(
        """
        The XLSX tests open the workbooks with real readers, and one is missing: \(message.trimmingCharacters(in: .whitespacesAndNewlines))
        Install them (Debian: apt-get install python3 libreoffice-calc-nogui; pip install openpyxl), or set \
        OZGTRACK_QUICK=1 to skip these tests.
        """, sourceLocation: sourceLocation)
    return nil
}

/// Writes the fixture's report as XLSX (and as the CSV of the same query, without formula protection) into
/// `directory`; returns both paths.
func writeWorkbook(
    _ query: ReportQuery, fixture: Fixture, in directory: URL, exporter: XLSXExporter = XLSXExporter(), name: String = "report"
) throws -> (xlsx: String, csv: String) {
    let xlsx = directory.appendingPathComponent("\(name).xlsx").path
    let csv = directory.appendingPathComponent("\(name).csv").path
    try AtomicFileSink.write(to: xlsx) { sink in
        try Report.with(query, catalogue: catalogue, store: fixture.store) { report in try exporter.write(report, to: sink) }
    }
    var options = ExportOptions()
    options.neutraliseFormulas = false
    let csvExporter = CSVExporter(options: options)
    try AtomicFileSink.write(to: csv) { sink in
        try Report.with(query, catalogue: catalogue, store: fixture.store) { report in try csvExporter.write(report, to: sink) }
    }
    return (xlsx, csv)
}

@Suite("XLSX report, opened by real spreadsheet programs")
struct XLSXExporterTests {
    @Test(
        "every sheet's cells match the golden dump (types, formats, links, charts), for a Verband and for one Gemeinde",
        arguments: [("081155001", "verband"), ("08115001", "gemeinde")])
    func golden(scope: String, name: String) throws {
        let fixture = try Fixture()
        let files = try writeWorkbook(try Fixture.query(scope: scope), fixture: fixture, in: fixture.directory)
        guard let dump = try xlsxCheck(["dump", files.xlsx]) else { return }
        try expectGolden(dump, "\(name).xlsx.txt")
    }

    @Test(
        "openpyxl: the sheets in order, keys as text, dates as dates, no formula anywhere, and the Daten sheets equal the CSV report",
        arguments: ["081155001", "08115001", "08115", "081"])
    func equalsCSV(scope: String) throws {
        let fixture = try Fixture()
        let files = try writeWorkbook(try Fixture.query(scope: scope), fixture: fixture, in: fixture.directory)
        guard let output = try xlsxCheck(["check", files.xlsx, files.csv]) else { return }
        #expect(output.contains("\"ok\": true"))
        // A Bezirk (or Land, or the whole country) spans several Kreise: the Kreise sheet is there.
        #expect(output.contains("\"Kreise\"") == (scope == "081"))
    }

    @Test("formula injection cannot happen: the hostile values of the CSV tests are string cells, as stored")
    func hostileValuesStayText() throws {
        let fixture = try Fixture()
        let files = try writeWorkbook(try Fixture.query(), fixture: fixture, in: fixture.directory)
        guard let dump = try xlsxCheck(["dump", files.xlsx]) else { return }
        for hostile in ["=HYPERLINK(\\\"http://evil.example\\\")", "@SUM(A1)", "-2+3", "\\tTab am Anfang", "Bürgerbüro\\r\\nmit CRLF"] {
            #expect(dump.contains(" s \"\(hostile)\""), "not a string cell: \(hostile)")
        }
        // `check` also scans every sheet part for a formula element.
        _ = try xlsxCheck(["check", files.xlsx, files.csv])
    }

    @Test("a status filter selects the Daten rows; the units' figures still count every row")
    func statusFilter() throws {
        let fixture = try Fixture()
        var filtered = try Fixture.query()
        filtered.statuses = [.recorded(.online)]
        let all = try writeWorkbook(try Fixture.query(), fixture: fixture, in: fixture.directory, name: "all")
        let online = try writeWorkbook(filtered, fixture: fixture, in: fixture.directory, name: "online")
        guard let allDump = try xlsxCheck(["dump", all.xlsx]), let onlineDump = try xlsxCheck(["dump", online.xlsx]) else { return }
        func section(_ dump: String, _ name: String) -> String {
            dump.components(separatedBy: "## ").first { $0.hasPrefix(name + ":") } ?? ""
        }
        #expect(!section(allDump, "Einheiten").isEmpty)
        #expect(section(allDump, "Einheiten") == section(onlineDump, "Einheiten"))
        #expect(section(allDump, "Themenfelder") == section(onlineDump, "Themenfelder"))
        #expect(section(onlineDump, "Daten").hasPrefix("Daten: 4 rows"))  // the header and three online rows
        _ = try xlsxCheck(["check", online.xlsx, online.csv])
    }

    @Test("past a sheet's row limit the rows continue on Daten 2, Daten 3, …, and the Übersicht says so")
    func continuation() throws {
        let fixture = try Fixture()
        let exporter = XLSXExporter(rowsPerSheet: 11)
        let files = try writeWorkbook(try Fixture.query(), fixture: fixture, in: fixture.directory, exporter: exporter)
        guard let output = try xlsxCheck(["check", files.xlsx, files.csv]) else { return }
        // 31 rows, 10 per sheet below the header.
        #expect(output.contains("\"dataRows\": {\"Daten\": 10, \"Daten 2\": 10, \"Daten 3\": 10, \"Daten 4\": 1}"))
        guard let dump = try xlsxCheck(["dump", files.xlsx]) else { return }
        #expect(dump.contains("31 Zeilen auf den Blättern Daten, Daten 2, Daten 3, Daten 4: ein Blatt fasst höchstens 11 Zeilen"))
    }

    @Test("past a Daten sheet's hyperlink limit URLs are written as text, and the Übersicht says how many")
    func linkLimit() throws {
        let fixture = try Fixture()
        let exporter = XLSXExporter(rowsPerSheet: XLSXSheet.maximumRows, linkLimit: 1)
        // The Kreis with its Gemeinden: the Kreis's row (first in key order) has a URL, Aidlingen's the second.
        let files = try writeWorkbook(try Fixture.query(scope: "08115"), fixture: fixture, in: fixture.directory, exporter: exporter)
        guard let dump = try xlsxCheck(["dump", files.xlsx]) else { return }
        #expect(dump.contains("s \"https://example.org/fundsachen\" -> https://example.org/fundsachen"))
        #expect(dump.contains("s \"https://example.org/pkh?x=1&y=2\"\n"))
        #expect(dump.contains("als Text: 1 auf Daten"))
        _ = try xlsxCheck(["check", files.xlsx, files.csv])
    }

    @Test("LibreOffice (headless) opens the workbook and converts every sheet", arguments: ["081155001", "081"])
    func libreOffice(scope: String) throws {
        let fixture = try Fixture()
        let files = try writeWorkbook(try Fixture.query(scope: scope), fixture: fixture, in: fixture.directory)
        guard let output = try xlsxCheck(["libreoffice", files.xlsx]) else { return }
        guard let csv = try? String(contentsOfFile: files.csv, encoding: .utf8) else {
            Issue.record("no CSV report")
            return
        }
        // LibreOffice's CSV of the Daten sheet has as many records as the CSV report (header included).
        let records = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        let rows = records?["rows"] as? [String: Int]
        let csvRecords = try csvRecordCount(csv)
        #expect(rows?["Daten"] == csvRecords)
        #expect(rows?["Übersicht"] ?? 0 > 30)
    }

    @Test("the exporter is built in, binary, with the XLSX media type")
    func registered() throws {
        let exporter = try #require(ExporterRegistry.shared.exporter(named: "xlsx"))
        #expect(exporter.isBinary)
        #expect(exporter.fileExtension == "xlsx")
        #expect(exporter.mediaType == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        #expect(ExporterRegistry.shared.all.filter(\.isBinary).map(\.identifier) == ["xlsx"])
    }

    @Test(
        "a literal _xHHHH_ gets its underscore escaped (spreadsheets would show the character it names); other text stays",
        arguments: [
            ("Notiz _x0041_ Ende", "Notiz _x005F_x0041_ Ende"), ("_x00e4__x", "_x005F_x00e4__x"), ("_x12", "_x12"),
            ("max_x", "max_x"), ("=SUM(1)", "=SUM(1)"), ("a_b_xyz1_", "a_b_xyz1_"),
        ])
    func escapesLiteralEscapes(text: String, cell: String) {
        #expect(XLSXSheet.cellText(text) == cell)
    }

    @Test("Excel serial dates: 1 March 1900 is 61, 1 January 2025 is 45658, and instants carry the time of day")
    func excelDates() throws {
        #expect(ExcelDate.serial(year: 1900, month: 3, day: 1) == 61)
        #expect(ExcelDate.serial(year: 1900, month: 1, day: 1) == 1)
        #expect(ExcelDate.serial(try ISODate.parse("2025-01-01")) == 45_658)
        #expect(ExcelDate.serial(Date(timeIntervalSince1970: 1_735_732_800)) == 45_658.5)  // 2025-01-01T12:00Z
    }
}

/// The number of records in CSV text (quoted line breaks do not end a record).
func csvRecordCount(_ text: String) throws -> Int {
    var count = 0
    var quoted = false
    var pending = false
    for byte in text.utf8 {
        if byte == UInt8(ascii: "\"") { quoted.toggle() }
        if byte == UInt8(ascii: "\n") && !quoted {
            count += 1
            pending = false
        } else if byte != UInt8(ascii: "\r") {
            pending = true
        }
    }
    return count + (pending ? 1 : 0)
}
