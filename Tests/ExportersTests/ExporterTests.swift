import Foundation
import OZGCore
import Testing

@testable import Exporters

/// Writes a report of the fixture in one format.
func render(_ exporter: any ReportExporter, _ query: ReportQuery, fixture: Fixture) throws -> String {
    let sink = StringSink()
    try Report.with(query, catalogue: catalogue, store: fixture.store) { report in try exporter.write(report, to: sink) }
    return sink.text
}

@Suite("Report output matches the golden files")
struct GoldenTests {
    @Test(
        "each built-in format, for a Verband (several units) and for one Gemeinde",
        arguments: [
            ("xml", "xml"), ("csv", "csv"), ("markdown", "md"), ("json", "json"), ("jsonl", "jsonl"), ("html", "html"),
        ])
    func golden(format: String, fileExtension: String) throws {
        let fixture = try Fixture()
        let exporter = try #require(ExporterRegistry.shared.exporter(named: format))
        try expectGolden(try render(exporter, try Fixture.query(), fixture: fixture), "verband.\(fileExtension)")
        try expectGolden(try render(exporter, try Fixture.query(scope: "08115001"), fixture: fixture), "gemeinde.\(fileExtension)")
    }
}

@Suite("The report model")
struct ReportModelTests {
    @Test("rows: every Gemeinde × service of the scope, untracked included, plus records of units in scope, in key order")
    func rows() throws {
        let fixture = try Fixture()
        try Report.with(try Fixture.query(), catalogue: catalogue, store: fixture.store) { report in
            let rows = Array(report.rows())
            #expect(rows.count == 2 * 15 + 1)
            #expect(rows.map(\.region.key.description) == rows.map(\.region.key.description).sorted())
            let verband = rows.filter { !$0.isReportingUnit }
            #expect(verband.map(\.region.key.description) == ["081155001"])
            let fundsachen = try #require(rows.first { $0.region.key.description == "08115054" && $0.service.id.description == "10244" })
            #expect(fundsachen.record == nil)
            #expect(fundsachen.via?.description == "08115")  // the Kreis offers it online
            let summary = try report.summary()
            #expect(summary.overall.services == 30)
            #expect(summary.overall.notApplicable == 1)
            #expect(summary.overall.online == 3)
            // Both Gemeinden get 10244 from the Kreis, although Aidlingen records it as not started itself.
            #expect(summary.overall.onlineIncludingHigherLevel == 5)
            let coverage = try #require(summary.services.first { $0.ozgID == "10089" })
            #expect(coverage.onlineOwn == 1)
            #expect(coverage.classOwn == .mindestensEine)
            #expect(summary.services.first { $0.ozgID == "10244" }?.classIncludingHigherLevel == .flaechendeckend)
            #expect(summary.services.first { $0.ozgID == "10244" }?.classOwn == .keine)
            #expect(summary.maturity.contains { $0.model == 2 && $0.level == 5 && $0.count == 1 })
            #expect(summary.higherLevelRows == 1)
        }
    }

    @Test("a status filter selects rows; aggregates still cover the whole scope")
    func statusFilter() throws {
        let fixture = try Fixture()
        var query = try Fixture.query()
        query.statuses = [.recorded(.online)]
        try Report.with(query, catalogue: catalogue, store: fixture.store) { report in
            let rows = Array(report.rows())
            #expect(rows.count == 3)
            let summary = try report.summary()
            #expect(summary.overall.services == 30)
        }
    }

    @Test("--as-of reports the past from the history")
    func asOf() throws {
        let fixture = try Fixture()
        // After the fourth change (2025-01-01T10:04Z): the Kreis, the Verband and two records of Aidlingen.
        let query = try Fixture.query(asOf: Date(timeIntervalSince1970: 1_735_725_600 + 4 * 60 + 30))
        try Report.with(query, catalogue: catalogue, store: fixture.store) { report in
            let tracked = Array(report.rows()).filter { $0.record != nil }
            #expect(tracked.count == 3)
        }
    }
}

@Suite("CSV output")
struct CSVOutputTests {
    func parse(_ text: String, delimiter: CSVDelimiter) throws -> [[String]] {
        var copy = text
        return try copy.withUTF8 { bytes in
            let reader = try CSVReader(bytes: UnsafeRawBufferPointer(bytes), file: "report.csv", delimiter: delimiter)
            var records: [[String]] = []
            while try reader.next() { records.append(try reader.strings()) }
            return records
        }
    }

    @Test("parsed back, every cell equals the data; formula-like cells carry one leading apostrophe", arguments: [",", ";"])
    func parseBack(delimiter: String) throws {
        let fixture = try Fixture()
        var options = ExportOptions()
        options.csvDelimiter = Character(delimiter)
        let text = try render(CSVExporter(options: options), try Fixture.query(), fixture: fixture)
        let records = try parse(text, delimiter: delimiter == "," ? .comma : .semicolon)
        #expect(records.first == CSVExporter.columns(provenance: true))
        #expect(records.count == 1 + 31)
        #expect(records.allSatisfy { $0.count == 22 })
        let note = records.first { $0[0] == "08115001" && $0[4] == "10093" }?[15]
        #expect(note == Fixture.hostileNote)
        let injected = records.first { $0[0] == "08115001" && $0[4] == "10089" }?[15]
        #expect(injected == "'=HYPERLINK(\"http://evil.example\")")
        #expect(records.first { $0[0] == "08115001" && $0[4] == "10246" }?[15] == "'-2+3")
        let grafenau = try #require(records.first { $0[0] == "08115054" && $0[4] == "10553" })
        #expect(grafenau[14] == "'@SUM(A1)")
        #expect(grafenau[15] == "'\tTab am Anfang")
        #expect(records.first { $0[0] == "08115001" && $0[4] == "10244" }?[15] == "Bürgerbüro\r\nmit CRLF")
    }

    @Test("without formula protection, cells are written as they are; --bom starts with a byte-order mark")
    func options() throws {
        let fixture = try Fixture()
        var options = ExportOptions()
        options.neutraliseFormulas = false
        options.byteOrderMark = true
        let text = try render(CSVExporter(options: options), try Fixture.query(), fixture: fixture)
        #expect(text.hasPrefix("\u{FEFF}region,"))
        #expect(text.contains(",\"=HYPERLINK(\"\"http://evil.example\"\")\","))
        #expect(text.contains("\r\n"))
    }
}

@Suite("Markdown output")
struct MarkdownOutputTests {
    /// The number of cells of a table row: pipes that are not escaped, minus one.
    func cells(_ line: String) -> Int {
        var count = 0
        var escaped = false
        for character in line {
            if escaped {
                escaped = false
                continue
            }
            if character == "\\" { escaped = true } else if character == "|" { count += 1 }
        }
        return count - 1
    }

    @Test("every table keeps its column count whatever the notes contain", arguments: ["081155001", "08115001"])
    func tables(scope: String) throws {
        let fixture = try Fixture()
        let text = try render(MarkdownExporter(), try Fixture.query(scope: scope), fixture: fixture)
        var columns: Int?
        var tables = 0
        for line in text.components(separatedBy: "\n") {
            guard line.hasPrefix("|") else {
                columns = nil
                continue
            }
            if let columns {
                #expect(cells(line) == columns, "\(line)")
            } else {
                columns = cells(line)
                tables += 1
            }
        }
        #expect(tables >= 4)
        #expect(!text.contains("<b>"))
        #expect(text.contains("Zeile 1<br>Zeile 2 \\| mit Pipe &lt;b&gt;fett&lt;/b&gt; & \"Zitat\""))
        #expect(text.contains("Bürgerbüro<br>mit CRLF"))
    }

    @Test("cells escape what would break a table or inject markup", arguments: [
        ("a|b", "a\\|b"), ("<img src=x>", "&lt;img src=x&gt;"), ("x\ny", "x<br>y"), ("*bold* _it_", "\\*bold\\* \\_it\\_"),
        ("&lt;", "&amp;lt;"), ("Familie & Kind", "Familie & Kind"), ("a\\|b", "a\\\\\\|b"), ("[link](x)", "\\[link\\](x)"),
        ("a\u{202E}b\u{202C}", "a\u{FFFD}b\u{FFFD}"), ("x\u{85}y\u{9B}", "x\u{FFFD}y\u{FFFD}"), ("\u{200B}\u{2066}\u{FEFF}", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        ("Straße – „Bürger“ ü€", "Straße – „Bürger“ ü€"),
    ])
    func escaping(input: String, expected: String) {
        #expect(MarkdownExporter.cell(input) == expected)
    }
}

@Suite("JSON and JSON Lines output")
struct JSONOutputTests {
    @Test("the JSON document parses and holds header, every row and the aggregates")
    func json() throws {
        let fixture = try Fixture()
        let text = try render(JSONExporter(), try Fixture.query(), fixture: fixture)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "ozgtrack-report/1")
        let rows = try #require(object["rows"] as? [[String: Any]])
        #expect(rows.count == 31)
        #expect(rows.first { $0["ozgId"] as? String == "10093" && $0["region"] as? String == "08115001" }?["note"] as? String == Fixture.hostileNote)
        let summary = try #require(object["summary"] as? [String: Any])
        #expect((summary["overall"] as? [String: Any])?["onlineIncludingHigherLevel"] as? Int == 5)
    }

    @Test("JSON Lines: a header line, one line per row, a summary line, each valid JSON")
    func jsonLines() throws {
        let fixture = try Fixture()
        let text = try render(JSONLinesExporter(), try Fixture.query(), fixture: fixture)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 33)
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.first?["type"] as? String == "header")
        #expect(objects.first?["schema"] as? String == "ozgtrack-report-jsonl/1")
        #expect(objects.dropFirst().dropLast().allSatisfy { $0["type"] as? String == "row" })
        #expect(objects.last?["type"] as? String == "summary")
    }

    @Test("strings are escaped for JSON and JavaScript", arguments: [
        ("a\"b", "\"a\\\"b\""), ("a\\b", "\"a\\\\b\""), ("x\ny\tz", "\"x\\ny\\tz\""), ("\u{1}", "\"\\u0001\""),
        ("\u{2028}", "\"\\u2028\""), ("München", "\"München\""),
    ])
    func escaping(input: String, expected: String) {
        var out = ""
        JSONText.string(input, into: &out)
        #expect(out == expected)
    }
}

@Suite("Exporters: the registry and process plugins")
struct PluginTests {
    struct Shout: ReportExporter {
        let identifier = "shout"
        let description = "test"
        let fileExtension = "txt"
        let mediaType = "text/plain"
        func write(_ report: Report, to sink: any OutputSink) throws {
            try sink.write(report.header.scope.name.uppercased())
        }
    }

    @Test("a package registers its exporter; built-in names are reserved")
    func registry() throws {
        let registry = ExporterRegistry()
        try registry.register(Shout())
        #expect(registry.exporter(named: "shout") != nil)
        #expect(throws: ExporterError.self) { try registry.register(CSVExporter()) }
        #expect(registry.all.map(\.identifier).prefix(5) == ["xml", "csv", "markdown", "json", "jsonl"])
    }

    /// Writes an executable shell script `ozgtrack-exporter-NAME` into `directory`.
    static func plugin(_ name: String, _ script: String, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent(ProcessPluginExporter.prefix + name)
        try ("#!/bin/sh\n" + script).write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return url
    }

    @Test("plugins are discovered on PATH by name; invalid names are ignored")
    func discovery() throws {
        let fixture = try Fixture()
        _ = try Self.plugin("count", "cat >/dev/null", in: fixture.directory)
        _ = try Self.plugin("Bad_Name", "true", in: fixture.directory)
        let found = ProcessPluginExporter.discover(searchPath: "/nonexistent:" + fixture.directory.path)
        #expect(found.map(\.identifier) == ["count"])
    }

    @Test("a plugin written as a shell script reads JSON Lines on stdin and writes the output")
    func shellPlugin() throws {
        let fixture = try Fixture()
        let script = """
            test "$OZGTRACK_REPORT_SCHEMA" = "ozgtrack-report-jsonl/1" || exit 9
            rows=$(grep -c '"type":"row"')
            echo "Zeilen: $rows"
            """
        let exporter = ProcessPluginExporter(identifier: "count", executable: try Self.plugin("count", script, in: fixture.directory))
        #expect(try render(exporter, try Fixture.query(), fixture: fixture) == "Zeilen: 31\n")
    }

    @Test("a plugin that is open for writing for a moment (ETXTBSY) is started once it is closed")
    func brieflyBusyPlugin() throws {
        let fixture = try Fixture()
        let url = try Self.plugin("count", "wc -l", in: fixture.directory)
        let descriptor = open(url.path, O_WRONLY)
        #expect(descriptor >= 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(50)) { close(descriptor) }
        let exporter = ProcessPluginExporter(identifier: "count", executable: url)
        #expect(try render(exporter, try Fixture.query(), fixture: fixture).trimmingCharacters(in: .whitespaces) == "33\n")
    }

    @Test("a plugin that stays open for writing fails with the system's reason, and no output file")
    func busyPlugin() throws {
        let fixture = try Fixture()
        let url = try Self.plugin("busy", "cat", in: fixture.directory)
        let descriptor = open(url.path, O_WRONLY)
        defer { close(descriptor) }
        let target = fixture.directory.appendingPathComponent("out.txt").path
        #expect {
            try AtomicFileSink.write(to: target) { sink in
                try Report.with(try Fixture.query(), catalogue: catalogue, store: fixture.store) { report in
                    try ProcessPluginExporter(identifier: "busy", executable: url).write(report, to: sink)
                }
            }
        } throws: { error in
            (error as? ExporterError)?.description.contains("could not be started (Text file busy)") == true
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test(
        "a failing or crashing plugin is reported with its stderr and leaves no output file",
        arguments: [
            ("echo 'kaputt: Vorlage fehlt' >&2; exit 3", "exited with status 3", "kaputt: Vorlage fehlt"),
            ("head -c 10 >/dev/null; echo 'stirbt' >&2; kill -9 $$", "was killed by signal 9", "stirbt"),
        ])
    func failingPlugin(script: String, reason: String, stderr: String) throws {
        let fixture = try Fixture()
        let exporter = ProcessPluginExporter(identifier: "broken", executable: try Self.plugin("broken", "echo partial\n" + script, in: fixture.directory))
        let target = fixture.directory.appendingPathComponent("out.txt").path
        do {
            try AtomicFileSink.write(to: target) { sink in
                try Report.with(try Fixture.query(), catalogue: catalogue, store: fixture.store) { report in
                    try exporter.write(report, to: sink)
                }
            }
            Issue.record("a failing plugin succeeded")
        } catch let error as ExporterError {
            #expect(error.description.contains(reason))
            #expect(error.description.contains(stderr))
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}
