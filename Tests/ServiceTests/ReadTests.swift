import Foundation
import Testing

/// The read API returns the command-line tool's JSON and reports, over real HTTP.
@Suite("Service: read API and reports", .serialized)
struct ReadTests {
    func seeded(_ directory: URL) async throws {
        let csv = """
            region,ozg_id,status,maturity,url
            08115001,10244,online,3,https://example.org/a
            08115,10089,planned,,
            08116004,10244,in_progress,,

            """
        try csv.write(to: directory.appendingPathComponent("seed.csv"), atomically: true, encoding: .utf8)
        let run = try await ozgtrack(["import", "--db", "db.sqlite", "seed.csv", "--actor", "test"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// The API path and the CLI arguments that must give the same JSON document.
    static let sameAsCLI: [(path: String, arguments: [String])] = [
        ("/api/v1/status/08115001", ["status", "08115001", "--format", "json", "--db", "db.sqlite"]),
        ("/api/v1/history/08115001", ["history", "08115001", "--format", "json", "--db", "db.sqlite"]),
        ("/api/v1/diff?since=2000-01-01&scope=08115", ["diff", "--since", "2000-01-01", "--scope", "08115", "--format", "json", "--db", "db.sqlite"]),
        ("/api/v1/check?scope=08115&min-online=50", ["check", "--scope", "08115", "--min-online", "50", "--format", "json", "--db", "db.sqlite"]),
        ("/api/v1/catalogue?topic=6", ["catalogue", "services", "--topic", "6", "--format", "json"]),
        ("/api/v1/regions?within=08115", ["regions", "list", "--within", "08115", "--format", "json"]),
    ]

    @Test("status, history, diff, check, catalogue and regions: the same JSON as the CLI's --format json")
    func sameJSONAsCLI() async throws {
        try await withDatabase { directory in
            try await seeded(directory)
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            for entry in Self.sameAsCLI {
                let response = try await http("GET", server, entry.path)
                #expect(response.status == 200, "\(entry.path): \(response.text)")
                #expect(response.header("Content-Type") == "application/json")
                let cli = try await ozgtrack(entry.arguments, in: directory)
                #expect(response.text == cli.stdout, "\(entry.path)")
            }
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Reports stream in every built-in format; CSV is byte for byte the CLI's")
    func reports() async throws {
        try await withDatabase { directory in
            try await seeded(directory)
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            for format in ["csv", "markdown", "json", "jsonl", "xml"] {
                let response = try await http("GET", server, "/api/v1/report/08115?format=\(format)")
                #expect(response.status == 200, "\(format): \(response.text.prefix(300))")
                #expect(response.body.count > 1000)
            }
            let http = try await http("GET", server, "/api/v1/report/08115?format=csv")
            let cli = try await ozgtrack(["report", "--db", "db.sqlite", "--scope", "08115", "--format", "csv"], in: directory)
            #expect(http.text == cli.stdout)
            #expect(http.header("Content-Type") == "text/csv; charset=utf-8")
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("Bad parameters are 400 problem details naming the parameter")
    func badParameters() async throws {
        try await withDatabase { directory in
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let cases: [(String, String)] = [
                ("/api/v1/status/0811", "region"), ("/api/v1/diff?since=yesterday", "since"),
                ("/api/v1/report/08115?format=pdf", "format"), ("/api/v1/check?min-online=120", "min-online"),
                ("/api/v1/diff", "since"),
            ]
            for (path, field) in cases {
                let response = try await http("GET", server, path)
                #expect(response.status == 400, "\(path): \(response.text)")
                #expect(response.header("Content-Type") == "application/problem+json")
                #expect(response.text.contains(field), "\(path): \(response.text)")
            }
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("The national CSV report arrives in one response while the server's memory stays bounded")
    func nationalReportStreams() async throws {
        try await withDatabase { directory in
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let response = try await http("GET", server, "/api/v1/report/DE?format=csv")
            #expect(response.status == 200)
            let lines = response.body.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            // Every Gemeinde × every service, plus the header.
            #expect(lines > 10_000 * 500)
            let status = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)
            let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { line in
                line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            }
            // The report is several hundred MB; the server never held it (peak resident size in kB).
            #expect((peak ?? 0) < response.body.count / 1024 / 2, "peak \(peak ?? 0) kB for \(response.body.count) bytes")
            #expect(try await server.terminate() == 0)
        }
    }
}
