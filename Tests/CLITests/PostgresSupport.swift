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

/// A PostgreSQL cluster of a test's own (`scripts/pg-cluster.sh`), for faults that stop the server.
final class OwnCluster {
    let directory: String
    let url: String
    static let script = packageRoot.appendingPathComponent("scripts/pg-cluster.sh").path

    init() throws {
        directory = try Self.run(["start"]).trimmingCharacters(in: .whitespacesAndNewlines)
        url = try Self.run(["url", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { _ = try? Self.run(["stop", directory]) }

    /// Stops the server (fast shutdown: sessions are ended, open transactions rolled back), keeping its data.
    func pause() throws { _ = try Self.run(["pause", directory]) }

    /// Starts the stopped server again on the same port.
    func resume() throws { _ = try Self.run(["resume", directory]) }

    /// Runs the script and returns its stdout. Spawned and awaited with `posix_spawn` and `waitpid`: the script
    /// starts a server that outlives it, which `Process.waitUntilExit` was seen to hang on.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv = ["/bin/sh", "-c", "exec \"$0\" \"$@\" > '\(output)' 2>/dev/null", script] + arguments
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, cArguments, environ)
        guard spawned == 0 else {
            throw ClusterFailure(description: "pg-cluster.sh could not be started: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw ClusterFailure(description: "pg-cluster.sh \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return text
    }

    struct ClusterFailure: Error, CustomStringConvertible { var description: String }
}
