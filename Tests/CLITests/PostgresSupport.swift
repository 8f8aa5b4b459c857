import Foundation
import TestSupport
import Testing

/// The store backends the CLI tests run against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The backends of this run: both, unless a quick run without a PostgreSQL server (`OZGTRACK_QUICK=1`).
    static var tested: [Backend] { PostgresServer.enabled ? [.sqlite, .postgres] : [.sqlite] }
}

/// The PostgreSQL server of the test run (``PostgresTestServer``), reached with `psql`.
enum PostgresServer {
    static var enabled: Bool { PostgresTestServer.enabled }

    static func requireURL() throws -> String { try PostgresTestServer.requireURL() }

    /// `url` with a fresh schema selected.
    static func freshURL(base: String? = nil) throws -> (url: String, schema: String) {
        let schema = PostgresTestServer.freshSchema()
        return (try PostgresTestServer.url(schema: schema, base: base), schema)
    }

    /// Runs SQL through `psql` (the PostgreSQL client, installed with the server).
    @discardableResult
    static func psql(_ sql: String, url: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let target = try url ?? requireURL()
        process.arguments = ["psql", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1", target, "-c", sql]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A database for one test: a SQLite file in the test's directory, or a schema of its own on the test server
/// (dropped at the end).
final class TestStore: Sendable {
    let backend: Backend
    /// What `--db` gets.
    let location: String
    private let schema: String?

    init(_ backend: Backend, in directory: URL, name: String = "ozgtrack.sqlite") throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            location = directory.appendingPathComponent(name).path
            schema = nil
        case .postgres:
            let (url, schema) = try PostgresServer.freshURL()
            location = url
            self.schema = schema
        }
    }

    /// A PostgreSQL store at `location` (a URL), left in place afterwards.
    init(location: String) {
        backend = .postgres
        self.location = location
        schema = nil
    }

    deinit {
        if let schema { _ = try? PostgresServer.psql("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE") }
    }

    /// `arguments` with `--db` added.
    func args(_ arguments: [String]) -> [String] { arguments + ["--db", location] }
}
