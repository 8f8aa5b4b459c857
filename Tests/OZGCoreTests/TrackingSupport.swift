import Foundation
@testable import OZGCore

/// A fresh database in a temporary directory.
final class TestDatabase {
    let directory: URL
    let store: SQLiteStore
    var path: String { store.path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("test.sqlite").path, mode: .create)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `text` to a file in the directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// The current dump.
    func dump(asOf: Date? = nil) throws -> String {
        let sink = StringSink()
        try Dump.write(store: store, scope: try RegionScope(nil, in: builtIn.regions), asOf: asOf, to: sink)
        return sink.text
    }

    func set(_ region: String, _ service: String, _ update: RecordUpdate, at: Date? = nil, actor: String = "test")
        throws -> SetOutcome
    {
        try Importer.set(
            RecordKey(region: try RegionKey(region), service: try OZGID(service)), update, into: store,
            batch: BatchInfo(actor: actor, source: "cli", command: "set", at: at))
    }

    func importCSV(_ text: String, dryRun: Bool = false, skipUnknown: Bool = false) throws -> ImportSummary {
        let path = try file("import-\(UUID().uuidString.prefix(6)).csv", text)
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: skipUnknown)
        return try Importer.run(
            [CSVRecordSource(path: path, validator: validator)], into: store,
            batch: BatchInfo(actor: "test", source: "import.csv", command: "import"), validator: validator, dryRun: dryRun)
    }

    func record(_ region: String, _ service: String, asOf: Date? = nil) throws -> StoredRecord? {
        let key = RecordKey(region: try RegionKey(region), service: try OZGID(service))
        return try store.read { try $0.current(key, asOf: asOf) }
    }
}

/// A date from an ISO 8601 time.
func time(_ text: String) -> Date {
    (try? Timestamp.parse(text, endOfDay: false)) ?? Date(timeIntervalSince1970: 0)
}
