import Foundation
import OZGCore
import PostgresNIO
import Testing

@testable import PostgresStore

/// A large write into an empty PostgreSQL store (the first national import, `db copy`) builds `record_version`'s
/// key index after the load instead of maintaining it row by row — inside the one transaction, so that the write
/// stays all or nothing — and falls back to loading through the index whenever it cannot or should not.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct BulkLoadTests {
    /// 40 versions per region (by default 40,000) of about 220 bytes of `COPY` rows each: more than one page
    /// (``PostgresWriter/pageBytes``). The regions are 08111000, 08111001, …
    static func versions(batch: Int, regions: Int = 1_000) -> [StoredVersion] {
        let note = String(repeating: "Notiz zur Umsetzung; ", count: 6)
        var versions: [StoredVersion] = []
        for region in 0..<regions {
            let key = try! RegionKey("08\(String(format: "%06d", 111_000 + region))")
            for service in 10000..<10040 {
                versions.append(
                    StoredVersion(
                        key: RecordKey(region: key, service: OZGID(value: service)!),
                        values: RecordValues(status: .online, url: "https://example.org/\(region)/\(service)", note: note),
                        batch: batch))
            }
        }
        return versions
    }

    static let batch = NewBatch(at: Date(timeIntervalSince1970: 1_750_000_000), actor: "test", source: "bulk.csv", command: "import")

    /// The indexes of the store's version table, with their definitions.
    static func indexes(_ test: TestSchema) throws -> [[String?]] {
        try TestServer.rows(
            "SELECT indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = '\(test.schema)' "
                + "AND tablename = 'record_version' ORDER BY 1")
    }

    static func names(in session: Session, schema: String) throws -> [String] {
        try session.rows(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = '\(schema)' AND tablename = 'record_version' ORDER BY 1"
        ) { row in Cell.text(row.makeRandomAccess()[0]) ?? "" }
    }

    static func count(_ test: TestSchema) throws -> [[String?]] {
        try TestServer.rows("SELECT count(*)::text FROM \"\(test.schema)\".record_version")
    }

    @Test func theKeyIndexIsBuiltAfterTheLoadAndIsThereAfterTheCommit() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        let before = try Self.indexes(test)
        #expect(before.count == 2)
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            try writer.append(Self.versions(batch: id))
            // During the load only the partial index is kept.
            #expect(try Self.names(in: writer.session, schema: test.schema) == ["record_version_higher_level"])
        }
        #expect(try Self.indexes(test) == before)
        #expect(try Self.count(test) == [["40000"]])
        let store = RecordStore(backend: backend)
        let key = RecordKey(region: try RegionKey("08111999"), service: OZGID(value: 10039)!)
        #expect(try store.read { try $0.current(key, asOf: nil)?.values.url } == "https://example.org/999/10039")
    }

    @Test func aLargeLoadLeavesStatisticsThatLetTheNextReportReadThroughTheKeyIndex() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            // At least 100,000 versions: the writer analyzes the table before the commit.
            try writer.append(Self.versions(batch: id, regions: 3_000))
        }
        #expect(try Self.count(test) == [["120000"]])
        let correlation = try TestServer.rows(
            "SELECT correlation::text FROM pg_stats WHERE schemaname = '\(test.schema)' AND tablename = 'record_version' "
                + "AND attname = 'region'")
        #expect(correlation.count == 1)
        let value: String? = correlation.first?.first ?? nil
        #expect((value.flatMap { Double($0) } ?? 0) > 0.99)
        let plan = try TestServer.rows(
            "EXPLAIN " + RegionRows.query(table: "\"\(test.schema)\".record_version", filter: "", countsCharacters: false))
        #expect(plan.contains { ($0.first ?? nil)?.contains("Index Scan using record_version_pkey") == true })
    }

    @Test func aBulkLoadLeavesTheRowsInTheTableInTheOrderTheyWereSent() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            // In key order, of lengths that leave gaps of different sizes at the ends of pages: loaded through the
            // free space map, later short rows would fill earlier gaps.
            let versions = Self.versions(batch: id).enumerated().map { index, version in
                var values = version.values
                values.note = index % 3 == 0 ? nil : String(repeating: "x", count: (index * 37) % 400)
                return StoredVersion(key: version.key, values: values, batch: version.batch)
            }
            try writer.append(versions)
        }
        let misplaced = try TestServer.rows(
            "SELECT count(*)::text FROM (SELECT region, ozg_id, lag(region) OVER w AS before_region, lag(ozg_id) OVER w AS before_id "
                + "FROM \"\(test.schema)\".record_version WINDOW w AS (ORDER BY ctid)) rows "
                + "WHERE (region, ozg_id) < (before_region, before_id)")
        #expect(misplaced == [["0"]])
        #expect(try Self.count(test) == [["40000"]])
    }

    @Test func aFailedLoadLeavesTheEmptyStoreWithItsIndexes() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        let before = try Self.indexes(test)
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try backend.write { writer in
                let id = try writer.appendBatch(Self.batch)
                try writer.append(Self.versions(batch: id))
                #expect(try Self.names(in: writer.session, schema: test.schema) == ["record_version_higher_level"])
                throw Stop()
            }
        }
        #expect(try Self.indexes(test) == before)
        #expect(try Self.count(test) == [["0"]])
    }

    @Test func aReadDuringTheLoadSeesItsOwnWritesAndBringsTheIndexBack() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        let before = try Self.indexes(test)
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            try writer.append(Self.versions(batch: id))
            let key = RecordKey(region: try RegionKey("08111500"), service: OZGID(value: 10020)!)
            #expect(try writer.latestVersion(of: key, maxBatch: .max)?.values.url == "https://example.org/500/10020")
            #expect(try Self.names(in: writer.session, schema: test.schema).count == 2)
        }
        #expect(try Self.indexes(test) == before)
        #expect(try Self.count(test) == [["40000"]])
    }

    @Test func aStoreWithVersionsKeepsItsIndexes() throws {
        let test = try TestSchema()
        let backend = try test.backend()
        let key = RecordKey(region: try RegionKey("07111000"), service: OZGID(value: 10000)!)
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            try writer.append([StoredVersion(key: key, values: RecordValues(status: .planned), batch: id)])
        }
        try backend.write { writer in
            let id = try writer.appendBatch(NewBatch(at: Date(), actor: "test", source: "bulk.csv", command: "import"))
            try writer.append(Self.versions(batch: id))
            #expect(try Self.names(in: writer.session, schema: test.schema).count == 2)
        }
        #expect(try Self.count(test) == [["40001"]])
    }

    @Test func aReaderHoldingTheTableIsNotWaitedForAndTheLoadGoesThroughTheIndex() throws {
        let test = try TestSchema()
        let writing = try test.backend()
        let reading = try test.backend(.read)
        let before = try Self.indexes(test)
        // The reader's snapshot has read the version table (a share lock until its end): the writer does not wait
        // for it, and loads through the indexes.
        try reading.read { reader in
            #expect(try !reader.hasVersions())
            try writing.write { writer in
                let id = try writer.appendBatch(Self.batch)
                try writer.append(Self.versions(batch: id))
                #expect(try Self.names(in: writer.session, schema: test.schema).count == 2)
            }
            // Still the reader's snapshot.
            #expect(try !reader.hasVersions())
        }
        #expect(try Self.indexes(test) == before)
        #expect(try Self.count(test) == [["40000"]])
    }

    @Test func aRoleThatMayWriteButNotAlterTheTableLoadsThroughTheIndex() throws {
        let test = try TestSchema()
        _ = try test.backend()
        let before = try Self.indexes(test)
        let role = "ozgtrack_writer_\(test.schema)"
        let password = "Writer-\(UUID().uuidString)"
        try TestServer.execute("CREATE ROLE \"\(role)\" LOGIN PASSWORD '\(password)'")
        defer {
            try? TestServer.execute("REVOKE ALL ON ALL TABLES IN SCHEMA \"\(test.schema)\" FROM \"\(role)\"")
            try? TestServer.execute("REVOKE ALL ON SCHEMA \"\(test.schema)\" FROM \"\(role)\"")
            try? TestServer.execute("DROP ROLE IF EXISTS \"\(role)\"")
        }
        try TestServer.execute("GRANT USAGE ON SCHEMA \"\(test.schema)\" TO \"\(role)\"")
        try TestServer.execute("GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA \"\(test.schema)\" TO \"\(role)\"")
        var configuration = test.configuration
        configuration.user = role
        configuration.password = password
        let backend = try PostgresBackend(configuration: configuration, mode: .write)
        try backend.write { writer in
            let id = try writer.appendBatch(Self.batch)
            try writer.append(Self.versions(batch: id))
            #expect(try Self.names(in: writer.session, schema: test.schema).count == 2)
        }
        backend.close()
        #expect(try Self.indexes(test) == before)
        #expect(try Self.count(test) == [["40000"]])
    }
}
