import Foundation
import Testing
import TestSupport

@testable import OZGCore

/// An import into a filled store names each chunk's keys to the store before it reads them
/// (``BackendReader/prefetch(_:maxBatch:)``), which a server database answers in one query per chunk. Whatever the
/// rows' order and whatever the backend, the import must record exactly what a record-by-record import on SQLite
/// records, and a look-ahead must never hide a write made earlier in the same transaction.
@Suite("Imports in any key order into a filled store: the same records and history on every backend")
struct ImportOrderTests {
    /// The order of the second import's rows.
    enum Order: String, CaseIterable, CustomTestStringConvertible {
        case sorted, reversed, shuffled
        var testDescription: String { rawValue }
    }

    static let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    /// 25 Gemeinden of Baden-Württemberg and 300 services.
    static let gemeinden = builtIn.regions.descendants(of: RegionKey(canonical: "08"), level: .gemeinde).prefix(25).map(\.key)
    static let services = builtIn.services.services.prefix(300).map(\.id)

    static func line(_ region: RegionKey, _ service: OZGID, note: String?) -> String {
        "\(region),\(service),online,,,,,https://example.org/\(region)/\(service),,\(note ?? "")\n"
    }

    /// The first import: 24 Gemeinden with 250 services each (two chunks of rows).
    static let baseRows: [String] = gemeinden.prefix(24).flatMap { region in
        services.prefix(250).map { service in line(region, service, note: nil) }
    }

    /// The second import, sorted by key: of the stored records a third unchanged and two thirds with a new note; 50
    /// new services in each of the 24 Gemeinden and a 25th Gemeinde with 300 (7,500 rows: two chunks). Sorted or
    /// reversed, a chunk's keys fill their regions (a PostgreSQL store fetches them whole); shuffled, they are spread
    /// over all 25 (it probes them key by key).
    static let nextRows: [String] = gemeinden.enumerated().flatMap { regionIndex, region in
        services.enumerated().map { index, service in
            line(region, service, note: index % 3 == 0 || regionIndex == 24 || index >= 250 ? nil : "geändert \(index)")
        }
    }

    static func ordered(_ rows: [String], _ order: Order) -> [String] {
        switch order {
        case .sorted: return rows
        case .reversed: return rows.reversed()
        case .shuffled:
            var generator = SeededGenerator(seed: 20_261_130)
            return rows.shuffled(using: &generator)
        }
    }

    /// What two imports did and left behind: their summaries, the dump and every change with its provenance.
    struct Outcome: Equatable {
        var summaries: [String]
        var dump: String
        var changes: [RecordChange]
    }

    static func importRows(
        _ rows: [String], into store: any TrackingStore, at: String, directory: URL, dryRun: Bool = false
    ) throws -> String {
        let url = directory.appendingPathComponent("import-\(UUID().uuidString.prefix(6)).csv")
        try (header + rows.joined()).write(to: url, atomically: true, encoding: .utf8)
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: false)
        let summary = try Importer.run(
            [CSVRecordSource(path: url.path, validator: validator)], into: store,
            batch: BatchInfo(actor: "test", source: "import.csv", command: "import", at: time(at)), validator: validator,
            dryRun: dryRun)
        return "\(summary.rows) rows, \(summary.inserted) inserted, \(summary.updated) updated, \(summary.unchanged) unchanged"
    }

    static func run(_ factory: StoreFactory, order: Order) throws -> Outcome {
        let db = try factory.make()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-order-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var summaries = [try importRows(baseRows, into: db.store, at: "2025-01-01T00:00:00Z", directory: directory)]
        // A dry run reads the same way, in a read transaction.
        let next = ordered(nextRows, order)
        summaries.append(try importRows(next, into: db.store, at: "2025-02-01T00:00:00Z", directory: directory, dryRun: true))
        summaries.append(try importRows(next, into: db.store, at: "2025-02-01T00:00:00Z", directory: directory))
        let sink = StringSink()
        try Dump.write(store: db.store, scope: try RegionScope(nil, in: builtIn.regions), to: sink)
        return Outcome(summaries: summaries, dump: sink.text, changes: try StoreContractTests.changes(db.store))
    }

    @Test(
        "rows in any order into a filled store: the same summary, dump and history as sorted rows on SQLite",
        arguments: StoreFactories.all, Order.allCases)
    func anyOrderSameOutcome(factory: StoreFactory, order: Order) throws {
        let reference = try Self.run(StoreFactories.sqliteFile, order: .sorted)
        #expect(
            reference.summaries == [
                "6000 rows, 6000 inserted, 0 updated, 0 unchanged", "7500 rows, 1500 inserted, 3984 updated, 2016 unchanged",
                "7500 rows, 1500 inserted, 3984 updated, 2016 unchanged",
            ])
        let outcome = try Self.run(factory, order: order)
        #expect(outcome.summaries == reference.summaries)
        #expect(outcome.dump == reference.dump)
        #expect(outcome.changes == reference.changes)
    }

    @Test(
        "a look-ahead sees the versions written before it in the same write, and those written after it",
        arguments: StoreFactories.all)
    func lookAheadSeesOwnWrites(factory: StoreFactory) throws {
        let db = try factory.make()
        let keys = try (0..<6).map { try StoreContractTests.key("08111000", String(10000 + $0)) }
        let old = StoreContractTests.values(.planned, note: "alt")
        let new = StoreContractTests.values(.online, note: "neu")
        try db.store.write(StoreContractTests.batch("2025-01-01")) { writer in
            for key in keys.prefix(4) { try writer.put(key, old) }
        }
        try db.store.write(StoreContractTests.batch("2025-02-01")) { writer in
            let lookAhead = try #require(writer as? any LookAheadReader)
            // Written before the look-ahead: a stored key and a new one.
            #expect(try writer.put(keys[0], new))
            #expect(try writer.put(keys[4], new))
            try lookAhead.willReadCurrent(keys)
            #expect(try writer.current(keys[0], asOf: nil)?.values == new)
            #expect(try writer.current(keys[4], asOf: nil)?.values == new)
            #expect(try writer.current(keys[1], asOf: nil)?.values == old)
            #expect(try writer.current(keys[5], asOf: nil) == nil)
            // Written after it: a stored key and a new one.
            #expect(try writer.put(keys[1], new))
            #expect(try writer.put(keys[5], new, current: nil))
            #expect(try writer.current(keys[1], asOf: nil)?.values == new)
            #expect(try writer.current(keys[5], asOf: nil)?.values == new)
            // A key written twice in one write: the same state again records nothing, another one fails.
            #expect(try !writer.put(keys[0], new))
            #expect(throws: StoreError.self) { try writer.put(keys[1], old) }
        }
        #expect(try StoreContractTests.records(db.store).map(\.values) == [new, new, old, old, new, new])
    }

    @Test(
        "a look-ahead over most of a region leaves a key of it written before, and not named, as written",
        arguments: StoreFactories.all)
    func lookAheadBesideOwnWrite(factory: StoreFactory) throws {
        let db = try factory.make()
        let region = try RegionKey("08111000")
        let keys = Self.services.map { RecordKey(region: region, service: $0) }
        let old = StoreContractTests.values(.planned)
        let new = StoreContractTests.values(.online, note: "neu")
        try db.store.write(StoreContractTests.batch("2025-01-01")) { writer in
            for key in keys { try writer.put(key, old, current: nil) }
        }
        try db.store.write(StoreContractTests.batch("2025-02-01")) { writer in
            let lookAhead = try #require(writer as? any LookAheadReader)
            #expect(try writer.put(keys[0], new))
            // The other 299 keys of the region (a PostgreSQL store fetches such a region whole).
            try lookAhead.willReadCurrent(Array(keys.dropFirst()))
            #expect(try writer.current(keys[0], asOf: nil)?.values == new)
            #expect(try writer.current(keys[1], asOf: nil)?.values == old)
        }
    }

    @Test("a look-ahead over versions still on their way to the server sees them", arguments: StoreFactories.all)
    func lookAheadAfterManyWrites(factory: StoreFactory) throws {
        let db = try factory.make()
        let region = try RegionKey("08111000")
        let keys = Self.services.map { RecordKey(region: region, service: $0) }
        let old = StoreContractTests.values(.planned)
        try db.store.write(StoreContractTests.batch("2025-01-01")) { writer in
            for key in keys.prefix(150) { try writer.put(key, old, current: nil) }
        }
        // Long notes: the writes fill more than one page of COPY rows (4 MB), so that some are on their way.
        let note = String(repeating: "Umsetzung geändert; ", count: 1_500)
        try db.store.write(StoreContractTests.batch("2025-02-01")) { writer in
            let lookAhead = try #require(writer as? any LookAheadReader)
            for (index, key) in keys.enumerated() where index % 2 == 0 {
                try writer.put(key, StoreContractTests.values(.online, note: "\(index) \(note)"), current: nil)
            }
            try lookAhead.willReadCurrent(Array(keys.reversed()))
            for (index, key) in keys.enumerated() {
                let expected: RecordValues? =
                    index % 2 == 0 ? StoreContractTests.values(.online, note: "\(index) \(note)") : index < 150 ? old : nil
                #expect(try writer.current(key, asOf: nil)?.values == expected, "\(key)")
            }
        }
    }
}
