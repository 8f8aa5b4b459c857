import Foundation
import TestSupport
import Testing

/// `ozgtrack serve` on a PostgreSQL store: tokens are kept in the database, so `ozgtrack token` on one machine
/// and every instance of the service on that database agree. Needs the test server of `scripts/test.sh`
/// (`OZGTRACK_TEST_POSTGRES_URL`); skipped only in a quick run (`OZGTRACK_QUICK=1`) without one.
@Suite(
    "Service on PostgreSQL: tokens in the database", .serialized,
    .enabled(if: PostgresTestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"))
struct PostgresServiceTests {
    @Test("A token created on a PostgreSQL store writes its own unit through serve and is refused a neighbour's")
    func tokenFromTheDatabaseWritesItsScope() async throws {
        try await PostgresTestDatabase.with { directory, url in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", url: url, in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--db", url, "--rate-limit", "0"])
            let ozgID = try await firstService(server, token: token)
            let body = try jsonBody(["status": "online", "url": "https://example.org/boeblingen"])
            let write = try await http(
                "PUT", server, "/api/v1/status/08115001/\(ozgID)", token: token, body: body, contentType: "application/json")
            #expect(write.status == 200, "\(write.text)")
            let neighbour = try await http(
                "PUT", server, "/api/v1/status/08116/\(ozgID)", token: token, body: body, contentType: "application/json")
            #expect(neighbour.status == 403, "\(neighbour.text)")
            #expect(try await server.terminate() == 0)

            // The write is in the database, by the token's holder; the refused one left no trace.
            let own = try await ozgtrack(["history", "08115001", ozgID, "--db", url, "--format", "json"], in: directory)
            #expect(own.status == 0, "\(own.stderr)")
            let changes = try #require(try JSONSerialization.jsonObject(with: Data(own.stdout.utf8)) as? [[String: Any]])
            #expect(changes.count == 1)
            #expect(changes.first?["actor"] as? String == "Kreis Böblingen")
            let refused = try await ozgtrack(["history", "08116", ozgID, "--db", url, "--format", "json"], in: directory)
            #expect(refused.status == 0, "\(refused.stderr)")
            #expect(try (JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [Any])?.isEmpty == true)
        }
    }

    @Test("Two instances on one database share tokens: one created later works on both, a revocation stops both")
    func instancesShareTokens() async throws {
        try await PostgresTestDatabase.with { directory, url in
            let first = try await Server.start(directory: directory, arguments: ["--db", url, "--rate-limit", "0"])
            let second = try await Server.start(directory: directory, arguments: ["--db", url, "--rate-limit", "0"])
            let token = try await createToken("Leserin", scope: nil, role: "read", url: url, in: directory)
            for server in [first, second] {
                #expect(try await http("GET", server, "/api/v1/status/08115001", token: token).status == 200)
            }
            let revoke = try await ozgtrack(["token", "revoke", "--db", url, "Leserin"], in: directory)
            #expect(revoke.status == 0, "\(revoke.stderr)")
            for server in [first, second] {
                #expect(try await http("GET", server, "/api/v1/status/08115001", token: token).status == 401)
            }
            #expect(try await first.terminate() == 0)
            #expect(try await second.terminate() == 0)
        }
    }

    /// Creates a token on the store at `url` and returns its secret.
    private func createToken(_ name: String, scope: String?, role: String, url: String, in directory: URL) async throws -> String {
        var arguments = ["token", "create", "--db", url, "--name", name, "--role", role]
        if let scope { arguments += ["--scope", scope] }
        let run = try await ozgtrack(arguments, in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The OZG-ID of the catalogue's first service.
    private func firstService(_ server: Server, token: String) async throws -> String {
        let catalogue = try #require(try await http("GET", server, "/api/v1/catalogue", token: token).json() as? [[String: Any]])
        return try #require(catalogue.first?["ozgID"] as? String)
    }
}

/// A schema of its own per test on the PostgreSQL server of the run (``PostgresTestServer``).
enum PostgresTestDatabase {
    /// Runs `body` with a temporary directory and the URL of an initialised store in a fresh schema; the schema
    /// and the directory are removed afterwards.
    static func with<R>(_ body: (URL, String) async throws -> R) async throws -> R {
        let base = try PostgresTestServer.requireURL()
        let schema = PostgresTestServer.freshSchema(prefix: "serve_", length: 16)
        let store = try PostgresTestServer.url(schema: schema, base: base)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-serve-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: directory)
            dropSchema(schema, base: base)
        }
        let run = try await ozgtrack(["init", "--db", store], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        return try await body(directory, store)
    }

    /// Drops the test's schema with `psql` (the PostgreSQL client, installed with the server).
    private static func dropSchema(_ schema: String, base: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "--no-psqlrc", "--quiet", base, "-c", "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return }
        process.waitUntilExit()
    }
}
