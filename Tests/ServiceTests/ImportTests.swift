import Foundation
import Testing

/// `POST import` and its limits, over real HTTP.
@Suite("Service: imports and limits", .serialized)
struct ImportTests {
    static let inScope = """
        region,ozg_id,status,maturity,url
        08115001,10001,online,3,https://example.org/a
        08115,10002,planned,,
        08115003,10003,in_progress,,

        """

    /// Counts the records of `region` through the API.
    func tracked(_ server: Server, _ region: String, token: String) async throws -> Int {
        let status = try await http("GET", server, "/api/v1/status/\(region)", token: token)
        let object = try #require(try status.json() as? [String: Any])
        let counts = try #require(object["counts"] as? [String: Any])
        return try #require(counts["tracked"] as? Int)
    }

    @Test("A CSV import within the token's scope lands in one batch, with the token's name as actor")
    func importAccepted() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory)
            let response = try await http("POST", server, "/api/v1/import", token: token, body: Data(Self.inScope.utf8), contentType: "text/csv")
            #expect(response.status == 200, "\(response.text)")
            let summary = try #require(try response.json() as? [String: Any])
            #expect(summary["inserted"] as? Int == 3)
            #expect(try await tracked(server, "08115001", token: token) == 1)
            let history = try #require(try await http("GET", server, "/api/v1/history/08115001", token: token).json() as? [[String: Any]])
            #expect(history.first?["actor"] as? String == "Kreis Böblingen")
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("One row outside the token's scope: 403 and not a single row written")
    func importOutsideScope() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory)
            let csv = Self.inScope + "08116004,10004,online,,\n"
            let response = try await http("POST", server, "/api/v1/import", token: token, body: Data(csv.utf8), contentType: "text/csv")
            #expect(response.status == 403)
            #expect(response.header("Content-Type") == "application/problem+json")
            let problem = try #require(try response.json() as? [String: Any])
            #expect((problem["detail"] as? String)?.contains("08116004") == true)
            #expect(try await tracked(server, "08115001", token: token) == 0)
            #expect(try await tracked(server, "08115", token: token) == 0)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Bad rows: 422 problem details with line and field, as the CLI reports them; nothing written")
    func importRefused() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory)
            let csv = "region,ozg_id,status,maturity\n08115001,10001,online,3\n08115003,10003,online,9\n"
            let response = try await http("POST", server, "/api/v1/import", token: token, body: Data(csv.utf8), contentType: "text/csv")
            #expect(response.status == 422)
            #expect(response.header("Content-Type") == "application/problem+json")
            let problem = try #require(try response.json() as? [String: Any])
            let errors = try #require(problem["errors"] as? [[String: Any]])
            #expect(errors.count == 1)
            #expect(errors.first?["line"] as? Int == 3)
            #expect(errors.first?["field"] as? String == "maturity")
            #expect(errors.first?["file"] as? String == "body")
            // The same message as the command-line tool's, with the file named "body".
            try csv.write(to: directory.appendingPathComponent("body"), atomically: true, encoding: .utf8)
            let cli = try await ozgtrack(["import", "--db", "db.sqlite", "--format", "csv", "body"], in: directory)
            #expect(cli.status == 2)
            #expect(cli.stderr.contains(errors.first?["text"] as? String ?? "<none>"), "\(cli.stderr)")
            #expect(try await tracked(server, "08115001", token: token) == 0)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Unsupported Content-Type is 415; no token is 401; a read token is 403")
    func importRefusedByProtocol() async throws {
        try await withDatabase { directory in
            let write = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let read = try await createToken("Leser", scope: "08115", role: "read", in: directory)
            let server = try await Server.start(directory: directory)
            let body = Data(Self.inScope.utf8)
            #expect(try await http("POST", server, "/api/v1/import", token: write, body: body, contentType: "text/plain").status == 415)
            #expect(try await http("POST", server, "/api/v1/import", body: body, contentType: "text/csv").status == 401)
            #expect(try await http("POST", server, "/api/v1/import", token: read, body: body, contentType: "text/csv").status == 403)
            #expect(try await tracked(server, "08115001", token: write) == 0)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("A body over the limit is 413 and writes nothing")
    func bodyTooLarge() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Ministerium", scope: nil, role: "admin", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--max-body-mb", "1"])
            var csv = "region,ozg_id,status,note\n08115001,10001,online,x\n"
            let filler = String(repeating: "n", count: 1000)
            for index in 0..<1200 { csv += "08115001,\(10002 + index),online,\(filler)\n" }
            let response = try await http("POST", server, "/api/v1/import", token: token, body: Data(csv.utf8), contentType: "text/csv")
            #expect(response.status == 413)
            #expect(try await tracked(server, "08115001", token: token) == 0)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Over the token's rate: 429 with Retry-After, and the refused request writes nothing")
    func rateLimited() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--rate-limit", "0.01", "--rate-burst", "2"])
            let body = try jsonBody(["status": "online"])
            #expect(try await http("PUT", server, "/api/v1/status/08115001/10001", token: token, body: body, contentType: "application/json").status == 200)
            #expect(try await http("GET", server, "/api/v1/status/08115001", token: token).status == 200)
            let refused = try await http("PUT", server, "/api/v1/status/08115001/10002", token: token, body: body, contentType: "application/json")
            #expect(refused.status == 429)
            // 0.01 requests per second: the next one is allowed in 100 seconds (the bucket is empty).
            #expect(refused.header("Retry-After") == "100")
            let other = try await createToken("Ministerium", scope: nil, role: "admin", in: directory)
            let history = try #require(try await http("GET", server, "/api/v1/history/08115001?ozg-id=10002", token: other).json() as? [Any])
            #expect(history.isEmpty)
            #expect(try await server.terminate() == 0)
        }
    }
}
