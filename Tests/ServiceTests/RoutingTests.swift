import Foundation
import Testing

/// Requests without a token are limited per client address; unknown methods on known paths are 405 with `Allow`.
@Suite("Service: the limit without a token, and 405", .serialized)
struct RoutingTests {
    @Test("Without a token, over the address's rate: 429 with Retry-After; tokens and /healthz are not held up")
    func anonymousRateLimit() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Leser", scope: nil, role: "read", in: directory)
            let server = try await Server.start(
                directory: directory, arguments: ["--public-read", "--public-rate-limit", "0.01", "--public-rate-burst", "2"])
            #expect(try await http("GET", server, "/api/v1/status/08115001").status == 200)
            #expect(try await http("GET", server, "/api/v1/regions").status == 200)
            let refused = try await http("GET", server, "/api/v1/status/08115001")
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.header("Content-Type") == "application/problem+json")
            #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 1)
            #expect(refused.text.contains("127.0.0.1"))
            // A write without a token counts too, and is refused before anything else is looked at.
            let write = try await http(
                "PUT", server, "/api/v1/status/08115001/10000", body: try jsonBody(["status": "online"]), contentType: "application/json")
            #expect(write.status == 429)
            #expect(try await http("GET", server, "/healthz").status == 200)
            #expect(try await http("GET", server, "/api/v1/status/08115001", token: token).status == 200)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("--public-rate-limit 0 turns the limit off")
    func anonymousLimitOff() async throws {
        try await withDatabase { directory in
            let server = try await Server.start(
                directory: directory, arguments: ["--public-read", "--public-rate-limit", "0", "--public-rate-burst", "1"])
            for _ in 0..<5 { #expect(try await http("GET", server, "/api/v1/regions").status == 200) }
            #expect(try await server.terminate() == 0)
        }
    }

    static let wrongMethods: [(method: String, path: String, allow: String)] = [
        ("PUT", "/api/v1/status/08115001", "GET"), ("GET", "/api/v1/status/08115001/10000", "PUT"),
        ("GET", "/api/v1/import", "POST"), ("DELETE", "/healthz", "GET"), ("POST", "/region/08", "GET"),
        ("POST", "/", "GET"), ("DELETE", "/api/v1/report/08115", "GET"),
    ]

    @Test("A known path with another method: 405 and the methods it allows", arguments: wrongMethods)
    func methodNotAllowed(method: String, path: String, allow: String) async throws {
        try await withDatabase { directory in
            let token = try await createToken("Ministerium", scope: nil, role: "admin", in: directory)
            let server = try await Server.start(directory: directory)
            let response = try await http(method, server, path, token: token, body: method == "GET" ? nil : Data())
            #expect(response.status == 405, "\(method) \(path): \(response.text)")
            #expect(response.header("Allow") == allow)
            #expect(try await http(method, server, "/api/v1/nowhere", token: token, body: method == "GET" ? nil : Data()).status == 404)
            #expect(try await server.terminate() == 0)
        }
    }
}
