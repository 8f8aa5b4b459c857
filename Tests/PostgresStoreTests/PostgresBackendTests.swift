import Foundation
import OZGCore
import Testing

@testable import PostgresStore

/// What the PostgreSQL backend does beyond the store contract: its schema, its migrations, its errors, and the
/// exactness of values that go through `COPY`.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct PostgresBackendTests {
    static let key = RecordKey(region: try! RegionKey("08111000"), service: OZGID(value: 10000)!)

    @Test func initCreatesTheSchemaOnceAndAgainChangesNothing() throws {
        let test = try TestSchema()
        #expect(try test.backend(.create).migrated)
        #expect(try !test.backend(.create).migrated)
        let versions = try TestServer.rows("SELECT version::text FROM \"\(test.schema)\".schema_version ORDER BY version")
        #expect(versions == [["1"], ["2"], ["3"]])
    }

    @Test(arguments: [PostgresBackend.Mode.read, .write])
    func aMissingStoreIsRefusedWithAPointerToInit(mode: PostgresBackend.Mode) throws {
        let test = try TestSchema()
        #expect {
            _ = try test.backend(mode)
        } throws: { error in
            (error as? StoreError)?.message.contains("holds no ozgtrack store: create one with 'ozgtrack init'") == true
        }
    }

    @Test(arguments: [PostgresBackend.Mode.read, .write, .create])
    func aStoreOfANewerVersionIsRefused(mode: PostgresBackend.Mode) throws {
        let test = try TestSchema()
        _ = try test.backend(.create)
        try TestServer.execute("INSERT INTO \"\(test.schema)\".schema_version (version, ozgtrack) VALUES (99, '9.0.0')")
        #expect {
            _ = try test.backend(mode)
        } throws: { error in
            (error as? StoreError)?.message.contains("was written by a newer version of ozgtrack") == true
        }
    }

    @Test func aSchemaOfAnotherApplicationIsNotTouched() throws {
        let test = try TestSchema()
        try TestServer.execute("CREATE SCHEMA \"\(test.schema)\"")
        try TestServer.execute("CREATE TABLE \"\(test.schema)\".invoices (id int)")
        #expect {
            _ = try test.backend(.create)
        } throws: { error in
            (error as? StoreError)?.message.contains("holds other tables and no ozgtrack store") == true
        }
        let tables = try TestServer.rows(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = '\(test.schema)' ORDER BY 1")
        #expect(tables == [["invoices"]])
    }

    @Test func aWrongPasswordIsAnAuthenticationErrorThatDoesNotShowIt() throws {
        var configuration = try TestServer.configuration(schema: "ozgtrack")
        configuration.password = "Wrong-Secret-4711"
        do {
            _ = try PostgresBackend(configuration: configuration, mode: .read)
            Issue.record("expected the login to fail")
        } catch {
            #expect(error.message.contains("refused the login of '\(configuration.user)'"))
            #expect(!error.message.contains("Wrong-Secret-4711"))
        }
    }

    @Test func noServerIsAConnectionErrorNamingTheAddress() throws {
        var configuration = try TestServer.configuration(schema: "ozgtrack")
        configuration.port = try closedPort()
        do {
            _ = try PostgresBackend(configuration: configuration, mode: .read)
            Issue.record("expected the connection to fail")
        } catch {
            #expect(error.message.contains("connection refused: no server is listening on \(configuration.host):\(configuration.port)"))
            #expect(!error.message.contains(configuration.password ?? "\u{0}"))
        }
    }

    @Test func anUnknownDatabaseIsNamed() throws {
        var configuration = try TestServer.configuration(schema: "ozgtrack")
        configuration.database = "no_such_database"
        #expect {
            _ = try PostgresBackend(configuration: configuration, mode: .read)
        } throws: { error in
            (error as? StoreError)?.message.contains("the database 'no_such_database' does not exist") == true
        }
    }

    @Test(arguments: [
        "tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "\\.", "ends with backslash\\",
        "Ümlaut – ß €", "emoji 🇩🇪", "\"quotes\" and 'apostrophes'", "  spaces  ", "=HYPERLINK(\"x\")",
    ])
    func textSurvivesCopyExactly(text: String) throws {
        let test = try TestSchema()
        let store = try test.store()
        let values = RecordValues(status: .online, url: nil, solution: text, note: text + "\n" + text)
        try store.write(BatchInfo(actor: "test", source: "cli", command: "set")) { writer in
            _ = try writer.put(Self.key, values)
        }
        let stored = try store.read { reader in try reader.current(Self.key, asOf: nil) }
        #expect(stored?.values == values)
    }

    @Test func everyFieldSurvivesCopy() throws {
        let test = try TestSchema()
        let store = try test.store()
        let values = RecordValues(
            status: .inProgress, maturity: 6, maturityModel: .v2, planned: ISODate("2026-02-28"),
            onlineSince: ISODate("2024-05-01"), url: "https://example.org/a?b=c&d", solution: "EfA", note: "n")
        try store.write(BatchInfo(actor: "täst", source: "file.csv", command: "import")) { writer in
            _ = try writer.put(Self.key, values)
        }
        let stored = try store.read { reader in try reader.current(Self.key, asOf: nil) }
        #expect(stored?.values == values)
        #expect(stored?.updatedBy == "täst")
        #expect(stored?.source == "file.csv")
    }

    @Test func aFailedWriteLeavesNothing() throws {
        let test = try TestSchema()
        let store = try test.store()
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try store.write(BatchInfo(actor: "test", source: "cli", command: "import")) { writer in
                for service in 10000..<10100 {
                    _ = try writer.put(RecordKey(region: Self.key.region, service: OZGID(value: service)!), RecordValues(status: .planned))
                }
                throw Stop()
            }
        }
        #expect(try store.read { try $0.isEmpty() })
        #expect(try TestServer.rows("SELECT count(*)::text FROM \"\(test.schema)\".batch") == [["0"]])
    }

    @Test func aStoreWhoseBatchIdsAreUsedUpRefusesTheWriteAndWritesNothing() throws {
        let test = try TestSchema()
        let store = try test.store()
        // `record_version.batch` is an `integer`, and rows go to the server in binary: the next id would not fit.
        try TestServer.execute(
            "INSERT INTO \"\(test.schema)\".batch (id, at, actor, source, command) VALUES (2147483647, 0, 't', 't', 't')")
        #expect {
            try store.write(BatchInfo(actor: "test", source: "cli", command: "set")) { writer in
                _ = try writer.put(Self.key, RecordValues(status: .online))
            }
        } throws: { error in
            (error as? StoreError)?.message.contains("the store has used every batch id (up to 2147483647): nothing was written") == true
        }
        #expect(try TestServer.rows("SELECT count(*)::text FROM \"\(test.schema)\".record_version") == [["0"]])
        #expect(try TestServer.rows("SELECT count(*)::text FROM \"\(test.schema)\".batch") == [["1"]])
    }

    @Test func aConnectionKeepsNothingOfTheQueriesItAnswered() throws {
        // Every wait on the connection is watched for its closing while it waits, and only then: a watch left
        // behind per query kept its rows alive until the connection closed (1.2 GB in a national import into a
        // filled store).
        let configuration = try PostgresConfiguration.resolve(url: try TestServer.requireURL())
        let bridge = Bridge()
        defer { bridge.shutdown() }
        let session = try Session.connect(configuration, bridge: bridge)
        defer { session.close() }
        for number in 0..<200 {
            let rows = try session.rows("SELECT repeat('x', 10000) FROM generate_series(1, \(number % 5 + 1))") { row in
                Cell.text(row.makeRandomAccess()[0])
            }
            #expect(rows.count == number % 5 + 1)
            try session.execute("SELECT 1")
        }
        #expect(session.watch.count == 0)
    }

    @Test func aQueryOnAClosedConnectionFailsAsALostConnection() throws {
        let configuration = try PostgresConfiguration.resolve(url: try TestServer.requireURL())
        let bridge = Bridge()
        defer { bridge.shutdown() }
        let session = try Session.connect(configuration, bridge: bridge)
        session.close()
        #expect(throws: ConnectionLost.self) { try session.execute("SELECT 1") }
        #expect(session.watch.count == 0)
    }

    /// A port on which nothing listens.
    func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
