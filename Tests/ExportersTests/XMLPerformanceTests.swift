import Exporters
import Foundation
import OZGCore
import Testing

/// A sink that counts what it receives and keeps nothing.
final class CountingSink: OutputSink {
    private(set) var bytes = 0
    func write(_ text: String) { bytes += text.utf8.count }
}

/// Measurements at national scale. Slow (minutes) and large (gigabytes in the temporary directory), so they
/// run only when asked: `OZGTRACK_XML_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter XMLPerformance`.
@Suite(
    "XML performance at national scale",
    .enabled(if: ProcessInfo.processInfo.environment["OZGTRACK_XML_BENCH"] != nil), .serialized)
struct XMLPerformanceTests {
    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test("a national report of an empty database streams through the exporter")
    func national() throws {
        let db = try XMLTestDatabase()
        let query = try reproducible(nil)
        var rows = 0
        let baseline = try seconds {
            try Report.with(query, catalogue: builtIn, store: db.store) { report in
                for _ in report.rows() { rows += 1 }
                _ = try report.summary()
            }
        }
        let sink = CountingSink()
        let export = try seconds {
            try Report.with(query, catalogue: builtIn, store: db.store) { try XMLExporter().write($0, to: sink) }
        }
        print("national: \(rows) rows; rows alone \(baseline) s; XML export \(export) s, \(sink.bytes) bytes, \(Double(sink.bytes) / Double(rows)) bytes/row")
    }

    @Test("a Land with a record for every Gemeinde and service: export, validate, import")
    func landWithRecords() throws {
        let db = try XMLTestDatabase()
        let land = "09"  // Bayern
        let gemeinden = try RegionScope(try RegionKey(land), in: builtIn.regions).reportingUnits
        let csvPath = db.directory.appendingPathComponent("bulk.csv").path
        _ = FileManager.default.createFile(atPath: csvPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: csvPath))
        try handle.write(contentsOf: Data("region,ozg_id,status,maturity,planned,url,note\n".utf8))
        let statuses = Status.allCases
        var chunk = ""
        for (unitIndex, unit) in gemeinden.enumerated() {
            for (serviceIndex, service) in builtIn.services.services.enumerated() {
                let status = statuses[(unitIndex + serviceIndex) % statuses.count]
                chunk += "\(unit.key),\(service.id),\(status.rawValue),\(serviceIndex % 5),2026-01-31,https://example.org/\(service.id)?ort=\(unit.key)&x=1,\"Notiz <\(serviceIndex)> & mehr\"\n"
            }
            if chunk.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data(chunk.utf8))
        try handle.close()
        let validator = RecordValidator(catalogue: builtIn)
        let loaded = try Importer.run(
            [CSVRecordSource(path: csvPath, validator: validator)], into: db.store,
            batch: BatchInfo(actor: "bench", source: "bulk.csv", command: "import"), validator: validator)

        let xmlPath = db.directory.appendingPathComponent("land.xml").path
        let export = try seconds {
            try Report.with(try reproducible(land, provenance: true), catalogue: builtIn, store: db.store) { report in
                let sink = try FileSink(path: xmlPath)
                try XMLExporter().write(report, to: sink)
                try sink.close()
            }
        }
        let size = try FileManager.default.attributesOfItem(atPath: xmlPath)[.size] as? Int ?? 0
        var validation: XMLValidationResult?
        let validate = try seconds { validation = try XMLSchemaValidator().validate(file: xmlPath) }
        var rows = 0
        let read = try seconds {
            try XMLRecordSource(path: xmlPath, validator: RecordValidator(catalogue: builtIn)).forEachRow { _ in rows += 1 }
        }
        let target = try XMLTestDatabase()
        var summary: ImportSummary?
        let imported = try seconds { summary = try target.importXML([xmlPath]) }
        #expect(validation?.isValid == true)
        #expect(rows == loaded.inserted)
        #expect(summary?.inserted == loaded.inserted)
        print(
            "land \(land): \(loaded.inserted) records; XML export \(export) s, \(size) bytes; validate \(validate) s; "
                + "read rows \(read) s; import into an empty database \(imported) s")
    }
}

/// Appends text to a file through a buffer (the benchmark's stand-in for the CLI's file sink).
final class FileSink: OutputSink {
    private let handle: FileHandle
    private var buffer = Data()

    init(path: String) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count > 1 << 20 {
            try handle.write(contentsOf: buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    func close() throws {
        try handle.write(contentsOf: buffer)
        try handle.close()
    }
}
