import Foundation
import OZGCore
import PostgresNIO
import TestSupport
import Testing

@testable import PostgresStore

/// The PostgreSQL server the tests run against (``PostgresTestServer``), reached through the store's own client.
enum TestServer {
    static var enabled: Bool { PostgresTestServer.enabled }

    static func requireURL() throws -> String { try PostgresTestServer.requireURL() }

    /// A schema name no other test uses.
    static func freshSchema() -> String { PostgresTestServer.freshSchema() }

    /// The server's URL with `schema` selected.
    static func url(schema: String) throws -> String { try PostgresTestServer.url(schema: schema) }

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
