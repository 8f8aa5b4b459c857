import Foundation
import OZGCore
import Testing
import TestSupport

@testable import PostgresStore

/// An import into a filled PostgreSQL store reads the current values of every row. The importer names each chunk's
/// keys first (``BackendReader/prefetch(_:maxBatch:)``), and the store fetches them in one query per chunk: the
/// statements the client sends grow with the chunks, not with the rows, in any order of the rows. Counted on the
/// store's own connection (``Session/statementsSent``), against the real server.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct LookAheadTests {
    static let header = EncodedImportTests.header
    static let catalogue = EncodedImportTests.catalogue

    /// Twenty Gemeinden with 500 services each: 10,000 rows, three chunks of the importer (4,096 rows each). Sorted,
    /// a chunk's keys fill its regions (the store fetches them whole); shuffled, they do not (it probes them by key).
    static func rows(note: (Int) -> String?) throws -> [String] {
        let gemeinden = catalogue.regions.descendants(of: try RegionKey("08"), level: .gemeinde).prefix(20)
        let services = catalogue.services.services.prefix(500)
        var rows: [String] = []
        for gemeinde in gemeinden {
            for service in services {
                rows.append("\(gemeinde.key),\(service.id),online,,,,,,,\(note(rows.count) ?? "")\n")
            }
        }
        return rows
    }

    static func importRows(_ rows: [String], into store: any TrackingStore, directory: URL) throws -> ImportSummary {
        let path = directory.appendingPathComponent("import-\(UUID().uuidString.prefix(6)).csv").path
        try (header + rows.joined()).write(toFile: path, atomically: true, encoding: .utf8)
        let validator = RecordValidator(catalogue: catalogue)
        return try Importer.run(
            [CSVRecordSource(path: path, validator: validator)], into: store,
            batch: BatchInfo(actor: "test", source: "import.csv", command: "import"), validator: validator)
    }

    @Test(
        "an import into a filled store sends a few statements per chunk of rows, not one per row, in any order",
        arguments: ["sorted", "shuffled"])
    func statementsPerChunk(order: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-lookahead-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let test = try TestSchema()
        let backend = try test.backend()
        let store = RecordStore(backend: backend)
        _ = try Self.importRows(try Self.rows { _ in nil }, into: store, directory: directory)
        // Every other row changes.
        var next = try Self.rows { $0 % 2 == 0 ? "geändert" : nil }
        if order == "shuffled" {
            var generator = SeededGenerator(seed: 7)
            next.shuffle(using: &generator)
        }
        let before = backend.statementsSent
        let summary = try Self.importRows(next, into: store, directory: directory)
        let sent = backend.statementsSent - before
        #expect(summary.updated == 5_000 && summary.unchanged == 5_000)
        // One look-ahead per chunk (3), and what every write sends: BEGIN, the lock, whether the store is empty, the
        // latest batch and the new one, the COPY pages, COMMIT. One look-up per row would be 10,000.
        #expect(sent <= 3 + 12, "\(sent) statements for 10,000 rows")
    }
}
