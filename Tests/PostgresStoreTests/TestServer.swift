import Foundation
import OZGCore
import PostgresNIO
import Testing

@testable import PostgresStore

/// The PostgreSQL server the tests run against: `OZGTRACK_TEST_POSTGRES_URL`, which `scripts/test.sh` sets after
/// starting a throwaway cluster. Without it the tests fail with a pointer to that script — unless the developer
/// asked for a quick run (`OZGTRACK_QUICK=1`), which skips them.
enum TestServer {
    static let url = ProcessInfo.processInfo.environment["OZGTRACK_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let quick = ProcessInfo.processInfo.environment["OZGTRACK_QUICK"] == "1"

    /// Whether the PostgreSQL tests run (then they need the server).
    static var enabled: Bool { url != nil || !quick }

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "OZGTRACK_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a throwaway "
                + "PostgreSQL cluster (or set OZGTRACK_QUICK=1 to skip the PostgreSQL tests)"
        }
    }

    /// The server's URL, or the failure that tells how to get one.
    static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    /// A schema name no other test uses.
    static func freshSchema() -> String {
        "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    /// The server's URL with `schema` selected.
    static func url(schema: String) throws -> String {
        let base = try requireURL()
        return base + (base.contains("?") ? "&" : "?") + "schema=" + schema
    }

    static func configuration(schema: String) throws -> PostgresConfiguration {
        try PostgresConfiguration.resolve(url: try url(schema: schema))
    }

    /// Runs one SQL statement as the test role (outside any store).
    static func execute(_ sql: String) throws {
        let configuration = try PostgresConfiguration.resolve(url: try requireURL())
        let bridge = Bridge()
        defer { bridge.shutdown() }
        let session = try Session.connect(configuration, bridge: bridge)
        defer { session.close() }
        try session.execute(sql)
    }

    /// Rows of one query, as text columns.
    static func rows(_ sql: String) throws -> [[String?]] {
        let configuration = try PostgresConfiguration.resolve(url: try requireURL())
        let bridge = Bridge()
        defer { bridge.shutdown() }
        let session = try Session.connect(configuration, bridge: bridge)
        defer { session.close() }
        return try session.rows(sql) { row in row.map { Cell.text($0) } }
    }

    static func dropSchema(_ schema: String) {
        try? execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }
}

/// A store in a schema of its own, dropped afterwards.
final class TestSchema {
    let schema = TestServer.freshSchema()
    let configuration: PostgresConfiguration
    let url: String

    init() throws {
        url = try TestServer.url(schema: schema)
        configuration = try TestServer.configuration(schema: schema)
    }

    deinit { TestServer.dropSchema(schema) }

    /// Opens the store.
    func backend(_ mode: PostgresBackend.Mode = .create) throws -> PostgresBackend {
        try PostgresBackend(configuration: configuration, mode: mode)
    }

    func store(_ mode: PostgresBackend.Mode = .create) throws -> RecordStore<PostgresBackend> {
        RecordStore(backend: try backend(mode))
    }
}
