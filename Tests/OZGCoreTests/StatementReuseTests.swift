import Foundation
import Testing

@testable import OZGCore

/// A SQLite connection keeps its read statements for reuse (`StatementCache`): what a reader sees must not change.
@Suite("Reading: statements kept per connection")
struct StatementReuseTests {
    /// A database with three records in one Gemeinde and one in another, and a second, read-only connection to it.
    private func fixture() throws -> (db: TestDatabase, reader: SQLiteStore) {
        let db = try TestDatabase()
        for service in ["10000", "10001", "10002"] { _ = try db.set("08111000", service, RecordUpdate(status: .planned)) }
        _ = try db.set("08115001", "10000", RecordUpdate(status: .online))
        return (db, try SQLiteStore(path: db.path, mode: .read))
    }

    @Test("two cursors over the same selection, open at once, each see every record")
    func cursorsOverTheSameSQL() throws {
        let (_, reader) = try fixture()
        let (first, second) = try reader.read { snapshot -> ([String], [String]) in
            let one = try snapshot.records(prefix: "08111000", asOf: nil)
            let two = try snapshot.records(prefix: "08111000", asOf: nil)
            var first: [String] = []
            var second: [String] = []
            // Interleaved: a shared statement would hand each cursor half of the rows, or restart one of them.
            while true {
                let a = try one.next()
                let b = try two.next()
                if let a { first.append(a.key.service.description) }
                if let b { second.append(b.key.service.description) }
                if a == nil && b == nil { break }
            }
            return (first, second)
        }
        #expect(first == ["10000", "10001", "10002"])
        #expect(second == first)
    }

    @Test("a cursor dropped before its end keeps no snapshot: the next read sees a later write")
    func droppedCursorKeepsNoSnapshot() throws {
        let (db, reader) = try fixture()
        let seen = try reader.read { snapshot in try snapshot.records(prefix: "08111000", asOf: nil).next()?.values.status }
        #expect(seen == .planned)
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online))
        let after = try reader.read { snapshot in try snapshot.records(prefix: "08111000", asOf: nil).next()?.values.status }
        #expect(after == .online)
        let latest = try reader.read { try $0.latestChange() }
        let written = try db.store.read { try $0.latestChange() }
        #expect(latest == written)
    }

    @Test("the status view reads the same after statements were reused, and after a write")
    func statusViewAfterReuse() throws {
        let (db, reader) = try fixture()
        let region = try #require(builtIn.regions.resolve(try RegionKey("08111000")))
        func view() throws -> [Status?] {
            try StatusView.make(store: reader, catalogue: builtIn, region: region, filter: ServiceFilter(), asOf: nil)
                .rows.prefix(3).map { $0.record?.values.status }
        }
        #expect(try view() == [.planned, .planned, .planned])
        #expect(try view() == [.planned, .planned, .planned])
        _ = try db.set("08111000", "10001", RecordUpdate(status: .inProgress))
        #expect(try view() == [.planned, .inProgress, .planned])
    }
}
