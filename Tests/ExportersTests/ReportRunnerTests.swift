import Foundation
import OZGCore
import Synchronization
import Testing

@testable import Exporters

/// A store whose record cursor fails after `limit` records, as a disk or a server connection may fail in the
/// middle of a report. Everything else goes to the real SQLite store underneath.
final class FailingStore: TrackingStore {
    struct Failure: Error, DescribedError {
        var description: String { "the disk failed while the records were read" }
    }

    let base: any TrackingStore
    let limit: Int

    init(_ base: any TrackingStore, failingAfter limit: Int) {
        self.base = base
        self.limit = limit
    }

    func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T {
        try base.read { reader in try body(Reader(base: reader, limit: limit)) }
    }

    func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        try base.write(batch, body)
    }

    final class Reader: TrackingReader {
        let base: any TrackingReader
        let limit: Int

        init(base: any TrackingReader, limit: Int) {
            self.base = base
            self.limit = limit
        }

        func isEmpty() throws -> Bool { try base.isEmpty() }
        func current(_ key: RecordKey, asOf: Date?) throws -> StoredRecord? { try base.current(key, asOf: asOf) }
        func records(prefix: String?, asOf: Date?) throws -> any RecordCursor {
            Cursor(base: try base.records(prefix: prefix, asOf: asOf), limit: limit)
        }
        func forEachHigherLevelRecord(asOf: Date?, _ body: (StoredRecord) throws -> Void) throws {
            try base.forEachHigherLevelRecord(asOf: asOf, body)
        }
        func forEachChange(
            prefix: String?, exact: Bool, service: OZGID?, from: Date?, to: Date?, _ body: (RecordChange) throws -> Void
        ) throws {
            try base.forEachChange(prefix: prefix, exact: exact, service: service, from: from, to: to, body)
        }
        func latestChange() throws -> Date? { try base.latestChange() }
    }

    final class Cursor: RecordCursor {
        let base: any RecordCursor
        var left: Int

        init(base: any RecordCursor, limit: Int) {
            self.base = base
            left = limit
        }

        var provenance: [Int: BatchRow] { base.provenance }

        func next() throws -> StoredRecord? {
            if left == 0 { throw Failure() }
            left -= 1
            return try base.next()
        }

        func nextVersion() throws -> StoredVersion? {
            if left == 0 { throw Failure() }
            left -= 1
            return try base.nextVersion()
        }
    }
}

/// A third-party exporter that lists the rows and never asks for the aggregates.
struct RowLister: ReportExporter {
    let identifier = "rows"
    let description = "one line per row"
    let fileExtension = "txt"
    let mediaType = "text/plain"

    func write(_ report: Report, to sink: any OutputSink) throws {
        for row in report.rows() { try sink.write("\(row.region.key) \(row.service.id)\n") }
    }
}

/// How the process treats SIGPIPE now (read without changing it).
func sigpipeDisposition() -> UInt {
    var current = sigaction()
    sigaction(SIGPIPE, nil, &current)
    return unsafeBitCast(current.__sigaction_handler.sa_handler, to: UInt.self)
}

@Suite("ReportRunner: one entry point for the CLI and a server")
struct ReportRunnerTests {
    @Test("an exporter that never asks for the aggregates cannot write a truncated report: the store's error fails the run and no file is written")
    func truncatedReportFails() throws {
        let fixture = try Fixture()
        let failing = FailingStore(fixture.store, failingAfter: 2)
        // Without the runner the pass ends quietly after two records: the report looks complete.
        let direct = StringSink()
        try Report.with(try Fixture.query(), catalogue: catalogue, store: failing) { report in
            try RowLister().write(report, to: direct)
        }
        #expect(direct.text.split(separator: "\n").count < 31)
        // Through the runner the same exporter fails with the store's error, and the file is not written.
        let target = fixture.directory.appendingPathComponent("report.txt").path
        #expect(throws: FailingStore.Failure.self) {
            try ReportRunner().run(
                try Fixture.query(), catalogue: catalogue, store: failing, exporter: RowLister(), to: .file(path: target))
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("every built-in format fails the same way over a failing store", arguments: ["xml", "csv", "markdown", "json", "jsonl"])
    func builtInFormatsFail(format: String) throws {
        let fixture = try Fixture()
        let target = fixture.directory.appendingPathComponent("report.out").path
        #expect(throws: FailingStore.Failure.self) {
            try ReportRunner().run(
                try Fixture.query(), catalogue: catalogue, store: FailingStore(fixture.store, failingAfter: 3), format: format,
                to: .file(path: target))
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("a complete run writes the same bytes into a sink and into a file, as the exporter alone does", arguments: ["csv", "markdown", "jsonl"])
    func sinkAndFile(format: String) throws {
        let fixture = try Fixture()
        let runner = ReportRunner()
        let sink = StringSink()
        try runner.run(try Fixture.query(), catalogue: catalogue, store: fixture.store, format: format, to: .sink(sink))
        let target = fixture.directory.appendingPathComponent("report.out")
        try runner.run(try Fixture.query(), catalogue: catalogue, store: fixture.store, format: format, to: .file(path: target.path))
        let exporter = try #require(ExporterRegistry.shared.exporter(named: format))
        #expect(sink.text == (try render(exporter, try Fixture.query(), fixture: fixture)))
        #expect(try String(contentsOf: target, encoding: .utf8) == sink.text)
    }

    @Test("options reach the exporter (CSV delimiter)")
    func options() throws {
        let fixture = try Fixture()
        var options = ExportOptions()
        options.csvDelimiter = ";"
        let sink = StringSink()
        try ReportRunner().run(
            try Fixture.query(), catalogue: catalogue, store: fixture.store, format: "csv", options: options, to: .sink(sink))
        #expect(sink.text.hasPrefix("region;region_name;"))
    }

    @Test("formats: registered ones first, plugins only from the directories given, a plugin with a built-in's name is shadowed")
    func lookup() throws {
        let fixture = try Fixture()
        _ = try PluginTests.plugin("zeilen", "wc -l", in: fixture.directory)
        _ = try PluginTests.plugin("csv", "cat", in: fixture.directory)
        let runner = ReportRunner(pluginSearchPath: "/nonexistent:" + fixture.directory.path)
        #expect(try runner.exporter(named: "zeilen") is ProcessPluginExporter)
        #expect(try runner.exporter(named: "csv") is CSVExporter)
        let available = runner.available()
        #expect(available.first { $0.exporter.identifier == "zeilen" }?.kind == .plugin)
        #expect(available.first { $0.kind == .shadowedPlugin }?.exporter.identifier == "csv")
        #expect(ReportRunner().plugins().isEmpty)
        do {
            _ = try ReportRunner().exporter(named: "zeilen")
            Issue.record("a plugin outside the runner's directories was found")
        } catch {
            #expect(error.description.contains("'zeilen' is not a known format"))
            #expect(!error.description.contains("PATH"))
        }
    }

    @Test("one runner serves concurrent reports: each gets exactly the output of a run on its own")
    func concurrentRuns() throws {
        let fixture = try Fixture()
        let runner = ReportRunner()
        let formats = ["xml", "csv", "markdown", "json", "jsonl", "csv", "xml", "markdown"]
        let expected = try formats.map { format in
            try render(try #require(ExporterRegistry.shared.exporter(named: format)), try Fixture.query(), fixture: fixture)
        }
        let outputs = Mutex<[Int: String]>([:])
        let failures = Mutex<[String]>([])
        // One store for all: `TrackingStore` is `Sendable`, and GRDB serialises access to the connection.
        let store = fixture.store
        DispatchQueue.concurrentPerform(iterations: formats.count) { index in
            do {
                let sink = StringSink()
                try runner.run(try Fixture.query(), catalogue: catalogue, store: store, format: formats[index], to: .sink(sink))
                let text = sink.text
                outputs.withLock { $0[index] = text }
            } catch {
                failures.withLock { $0.append("\(formats[index]): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        for index in formats.indices {
            #expect(outputs.withLock { $0[index] } == expected[index], "\(formats[index])")
        }
    }

    @Test(
        "plugins that stop reading early, run concurrently: each run fails with the plugin's reason, none raises SIGPIPE, the signal disposition stays as it was",
        arguments: [
            ("head -c 1000 >/dev/null; exit 0", "stopped reading its input"),
            ("head -c 1000 >/dev/null; echo 'genug' >&2; exit 5", "exited with status 5"),
        ])
    func pluginsStoppingEarly(script: String, reason: String) throws {
        let fixture = try Fixture()
        let runner = ReportRunner(pluginDirectories: [fixture.directory.path])
        _ = try PluginTests.plugin("early", script, in: fixture.directory)
        // A whole Kreis: megabytes of JSON Lines, far more than a socket buffer holds, so writing runs into the
        // closed input for certain.
        var wholeKreis = try Fixture.query(scope: "08115")
        wholeKreis.filter = ServiceFilter()
        let query = wholeKreis
        let before = sigpipeDisposition()
        let outcomes = Mutex<[String]>([])
        let store = fixture.store
        let directory = fixture.directory
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let target = directory.appendingPathComponent("early-\(index).out").path
            do {
                try runner.run(query, catalogue: catalogue, store: store, format: "early", to: .file(path: target))
                outcomes.withLock { $0.append("succeeded") }
            } catch {
                outcomes.withLock { $0.append("\(error)") }
            }
        }
        #expect(sigpipeDisposition() == before)
        let results = outcomes.withLock { $0 }
        #expect(results.count == 4)
        for result in results { #expect(result.contains(reason), "\(result)") }
        let written = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).filter { $0.hasPrefix("early-") || $0.hasSuffix(".tmp") }
        #expect(written.isEmpty)
    }
}
