import Foundation
import OZGCore
import Testing

@testable import PostgresStore

/// An import into an empty PostgreSQL store has its rows encoded as `COPY` rows by the import's reading stage
/// (``CopyEncoder``) and handed to the writer as pages; every other import hands over values. Both must store the
/// same records and report the same errors: the SQLite store (values, never encoded) is the reference.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct EncodedImportTests {
    static let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    static let catalogue: Catalogue = {
        do {
            return try Catalogue.builtIn()
        } catch {
            preconditionFailure("the built-in catalogue does not load: \(error)")
        }
    }()

    /// What an import did (its summary, or its errors as the user sees them), the dump afterwards, and the time of
    /// the store's latest change (`nil`: no batch).
    struct Outcome: Equatable {
        var result: String
        var dump: String
        var latestChange: Date?
    }

    static func run(_ text: String, into store: any TrackingStore, directory: URL) throws -> Outcome {
        let path = directory.appendingPathComponent("import.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let validator = RecordValidator(catalogue: catalogue)
        let result: String
        do {
            let summary = try Importer.run(
                [CSVRecordSource(path: path, validator: validator)], into: store,
                batch: BatchInfo(actor: "test", source: "import.csv", command: "import"), validator: validator)
            result = "\(summary.rows) rows, \(summary.inserted) inserted, \(summary.updated) updated, "
                + "\(summary.unchanged) unchanged, \(summary.skipped) skipped"
        } catch let errors as InputErrors {
            result = String(describing: errors).replacingOccurrences(of: directory.path, with: "DIR")
        }
        let sink = StringSink()
        try Dump.write(store: store, scope: try RegionScope(nil, in: catalogue.regions), to: sink)
        let latest = try store.read { try $0.latestChange() }
        return Outcome(result: result, dump: sink.text, latestChange: latest.map { _ in Date(timeIntervalSince1970: 0) })
    }

    /// The outcome in a fresh SQLite store and in a fresh PostgreSQL store.
    static func both(_ text: String) throws -> (sqlite: Outcome, postgres: Outcome, batches: [[String?]]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-encoded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteStore(path: directory.appendingPathComponent("test.sqlite").path, mode: .create)
        let test = try TestSchema()
        let postgres = try run(text, into: try test.store(), directory: directory)
        let batches = try TestServer.rows("SELECT count(*)::text FROM \"\(test.schema)\".batch")
        return (try run(text, into: sqlite, directory: directory), postgres, batches)
    }

    static let inputs: [(name: String, text: String)] = [
        ("valid rows", header + "08111000,10000,online,3,1,,2024-01-01,https://example.org/a,EfA-Dienst,\n"
            + "08111000,10001,planned,,,2027-02-01,,,,\n08115,10046,in_progress,5,2,,,,,Notiz\n"),
        ("texts that COPY escapes: backslash, tab, line breaks", header
            + "08111000,10000,online,,,,,https://example.org/a\\b,\"EfA\tDienst \\\\ 2\",\"Zeile 1\r\nZeile 2\nZeile\t3 \\N\"\n"),
        ("bad rows among good ones: nothing written", header + "08111000,10000,online,,,,,,,\n08111000,10001,online,9,1,,,,,\n"
            + "08111000,10002,,,,,,,,\n08111000,10003,online,,2,,,,,\n08111000,10004,online\n"),
        ("a bad first row: nothing written", header + "08111000,10000,online,,,2024-02-30,,,,\n08111000,10001,online,,,,,,,\n"),
        ("duplicates: nothing written", header + "08111000,10000,online,,,,,,,\n081110000000,10000,planned,,,,,,,\n"),
        ("no rows: no batch", header),
    ]

    @Test("an import into an empty store stores and reports what the SQLite store does", arguments: inputs.indices)
    func sameAsSQLite(index: Int) throws {
        let input = Self.inputs[index]
        let outcome = try Self.both(input.text)
        #expect(outcome.postgres == outcome.sqlite, "\(input.name)")
        #expect(outcome.batches == [[outcome.postgres.latestChange == nil ? "0" : "1"]], "\(input.name)")
    }

    @Test("more rows than fit in one page arrive complete and in order")
    func manyPages() throws {
        var text = Self.header
        let gemeinden = Self.catalogue.regions.descendants(of: try RegionKey("08"), level: .gemeinde).prefix(80)
        let note = String(repeating: "Notiz zur Umsetzung; ", count: 6)
        for gemeinde in gemeinden {
            for service in Self.catalogue.services.services.prefix(1_000) {
                text += "\(gemeinde.key),\(service.id),online,2,1,,2024-05-01,https://example.org/\(service.id),,\(note)\n"
            }
        }
        #expect(text.utf8.count > PostgresWriter.pageBytes + PostgresWriter.pageBytes / 2)
        let outcome = try Self.both(text)
        #expect(outcome.postgres == outcome.sqlite)
        #expect(outcome.batches == [["1"]])
    }

    @Test("a read in the write after encoded pages sees them")
    func readAfterPages() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        let key = RecordKey(region: try RegionKey("08111000"), service: OZGID(value: 10000)!)
        try backend.write { writer in
            let id = try writer.appendBatch(
                NewBatch(at: Date(timeIntervalSince1970: 1_750_000_000), actor: "test", source: "t", command: "import"))
            let encoder = writer.bulkEncoder(batch: id)
            #expect(encoder.append(key, RecordValues(status: .online, note: "a\tb")) == nil)
            let page = try #require(encoder.finish())
            #expect(page.rows == 1)
            try writer.append(encoded: page.page, rows: page.rows)
            #expect(try writer.latestVersion(of: key, maxBatch: .max)?.values == RecordValues(status: .online, note: "a\tb"))
        }
    }
}
