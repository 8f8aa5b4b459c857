import Foundation
import Testing

/// Who may do what: roles × places, over real HTTP against `ozgtrack serve`.
@Suite("Service: tokens, roles and scopes", .serialized)
struct AccessTests {
    /// A Kreis token (Böblingen, 08115) against its own unit, a Gemeinde below it, the neighbouring Kreis
    /// (Esslingen, 08116) and the Land (08); read and admin tokens against the same places.
    static let matrix: [(role: String, region: String, expected: Int)] = [
        ("read", "08115", 403), ("read", "08115001", 403), ("read", "08116", 403), ("read", "08", 403),
        ("write", "08115", 200), ("write", "08115001", 200), ("write", "08116", 403), ("write", "08", 403),
        ("admin", "08115", 200), ("admin", "08115001", 200), ("admin", "08116", 200), ("admin", "08", 200),
        ("none", "08115", 401), ("none", "08115001", 401), ("none", "08116", 401), ("none", "08", 401),
    ]

    @Test("PUT status: each role × own unit, unit below, neighbour, Land; refused writes leave no trace")
    func roleScopeMatrix() async throws {
        try await withDatabase { directory in
            let tokens = [
                "read": try await createToken("Leser Böblingen", scope: "08115", role: "read", in: directory),
                "write": try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory),
                "admin": try await createToken("Ministerium", scope: nil, role: "admin", in: directory),
            ]
            let server = try await Server.start(directory: directory, arguments: ["--rate-limit", "0"])
            let catalogue = try #require(try await http("GET", server, "/api/v1/catalogue", token: tokens["admin"]).json() as? [[String: Any]])
            let services = catalogue.compactMap { $0["ozgID"] as? String }
            for (index, entry) in Self.matrix.enumerated() {
                let ozgID = services[index]
                let response = try await http(
                    "PUT", server, "/api/v1/status/\(entry.region)/\(ozgID)", token: tokens[entry.role],
                    body: try jsonBody(["status": "online", "url": "https://example.org/\(index)"]), contentType: "application/json")
                #expect(response.status == entry.expected, "\(entry.role) → \(entry.region): \(response.text)")
                let history = try await http("GET", server, "/api/v1/history/\(entry.region)?ozg-id=\(ozgID)", token: tokens["admin"])
                let changes = try #require(try history.json() as? [[String: Any]])
                if entry.expected == 200 {
                    #expect(changes.count == 1)
                    let actor = changes.first?["actor"] as? String
                    #expect(actor == (entry.role == "admin" ? "Ministerium" : "Kreis Böblingen"))
                } else {
                    #expect(changes.isEmpty, "a refused write left a trace: \(entry.role) → \(entry.region)")
                    if entry.expected != 200 { #expect(response.header("Content-Type") == "application/problem+json") }
                }
            }
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Reads need a token unless --public-read; an unknown token is refused even for reads")
    func readsNeedToken() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Leser", scope: nil, role: "read", in: directory)
            let closed = try await Server.start(directory: directory)
            #expect(try await http("GET", closed, "/api/v1/status/08115001").status == 401)
            #expect(try await http("GET", closed, "/api/v1/status/08115001", token: token).status == 200)
            #expect(try await http("GET", closed, "/api/v1/status/08115001", token: "ozgt_wrong").status == 401)
            #expect(try await http("GET", closed, "/healthz").status == 200)
            #expect(try await closed.terminate() == 0)
            let open = try await Server.start(directory: directory, arguments: ["--public-read"])
            #expect(try await http("GET", open, "/api/v1/status/08115001").status == 200)
            #expect(try await http("GET", open, "/api/v1/status/08115001", token: "ozgt_wrong").status == 401)
            let write = try await http(
                "PUT", open, "/api/v1/status/08115001/10001", body: try jsonBody(["status": "online"]), contentType: "application/json")
            #expect(write.status == 401)
            #expect(try await open.terminate() == 0)
        }
    }

    @Test("A revoked token stops working at once; secrets never reach the log or an error")
    func revocationAndSecrecy() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory)
            let body = try jsonBody(["status": "planned"])
            let first = try await http("PUT", server, "/api/v1/status/08115001/10001", token: token, body: body, contentType: "application/json")
            #expect(first.status == 200)
            let list = try await ozgtrack(["token", "list", "--db", "db.sqlite", "--format", "json"], in: directory)
            #expect(list.stdout.contains("Kreis Böblingen"))
            #expect(!list.stdout.contains(token))
            #expect(try await ozgtrack(["token", "revoke", "--db", "db.sqlite", "Kreis Böblingen"], in: directory).status == 0)
            let second = try await http("PUT", server, "/api/v1/status/08115001/10001", token: token, body: body, contentType: "application/json")
            #expect(second.status == 401)
            #expect(!second.text.contains(token))
            #expect(try await server.terminate() == 0)
            #expect(!server.log.contains(token))
            #expect(!server.log.contains(String(token.dropFirst(5))))
        }
    }

    @Test("token create refuses a duplicate name, an unknown role and a scope outside the registry")
    func tokenCreateRefusals() async throws {
        try await withDatabase { directory in
            _ = try await createToken("Kreis Böblingen", scope: "08115", role: "write", in: directory)
            let duplicate = try await ozgtrack(
                ["token", "create", "--db", "db.sqlite", "--name", "Kreis Böblingen", "--scope", "08115", "--role", "write"], in: directory)
            #expect(duplicate.status == 2)
            #expect(duplicate.stderr.contains("exists already"))
            let role = try await ozgtrack(["token", "create", "--db", "db.sqlite", "--name", "X", "--role", "owner"], in: directory)
            #expect(role.status == 2)
            #expect(role.stderr.contains("--role"))
            let scope = try await ozgtrack(["token", "create", "--db", "db.sqlite", "--name", "Y", "--scope", "08999"], in: directory)
            #expect(scope.status == 2)
            #expect(scope.stderr.contains("--scope"))
        }
    }
}
