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

    /// Records whose text needs escaping, records of units above (so that `via` appears), a model-2 Reifegrad, a
    /// not_applicable record and two batches with different provenance.
    func seededForStatus(_ directory: URL) async throws {
        let first = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"
            + "08115001,10244,online,3,1,,2024-05-01,https://example.org/a/b?x=1&y=2,\"EfA \"\"Dienst\"\" \\ A/B\",\"Zeile 1\nZeile 2\tTab ä 😀 \u{2028} Ende\"\n"
            + "08115001,10000,planned,6,2,2027-01-31,,,,\n"
            + "08115001,10001,not_applicable,,,,,,,\n"
            + "08115,10089,online,,,,,,,\n"
            + "08,10002,online,,,,,,,\n"
        try first.write(to: directory.appendingPathComponent("first.csv"), atomically: true, encoding: .utf8)
        var run = try await ozgtrack(["import", "--db", "db.sqlite", "first.csv", "--actor", "Erste \"Quelle\""], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let second = "region,ozg_id,status\n08115001,10003,in_progress\n08115002,10003,online\n"
        try second.write(to: directory.appendingPathComponent("zweite Datei.csv"), atomically: true, encoding: .utf8)
        run = try await ozgtrack(["import", "--db", "db.sqlite", "zweite Datei.csv", "--actor", "Kreis/Böblingen"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// Status documents and the CLI arguments that must give the same bytes.
    static let statusDocuments: [(path: String, arguments: [String])] = [
        ("/api/v1/status/08115001", ["status", "08115001"]),
        ("/api/v1/status/08115001?topic=6", ["status", "08115001", "--topic", "6"]),
        ("/api/v1/status/08115001?municipal=true", ["status", "08115001", "--municipal"]),
        ("/api/v1/status/08115001?as-of=2000-01-01", ["status", "08115001", "--as-of", "2000-01-01"]),
        ("/api/v1/status/081155001001", ["status", "081155001001"]),
        ("/api/v1/status/081150003", ["status", "081150003"]),
        ("/api/v1/status/08115002", ["status", "08115002"]),
        ("/api/v1/status/08115", ["status", "08115"]),
        ("/api/v1/status/08", ["status", "08"]),
        ("/api/v1/status/09162000", ["status", "09162000"]),
    ]

    @Test("Status documents are the CLI's bytes: escaped text, via, model 2, as-of, filters, every level", arguments: statusDocuments)
    func statusDocumentsSameAsCLI(path: String, arguments: [String]) async throws {
        try await withDatabase { directory in
            try await seededForStatus(directory)
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let cli = try await ozgtrack(arguments + ["--format", "json", "--db", "db.sqlite"], in: directory)
            #expect(cli.status == 0, "\(cli.stderr)")
            // Twice: built, then reused while the store does not change.
            for _ in 0..<2 {
                let response = try await http("GET", server, path)
                #expect(response.status == 200, "\(path): \(response.text)")
                #expect(response.text == cli.stdout, "\(path)")
            }
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("A status document reused while nothing changes is rebuilt after a write, with a new ETag")
    func statusAfterWrite() async throws {
        try await withDatabase { directory in
            try await seededForStatus(directory)
            let token = try await createToken("Kreis", scope: "08115", role: "write", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let before = try await http("GET", server, "/api/v1/status/08115001")
            #expect(try await http("GET", server, "/api/v1/status/08115001").header("ETag") == before.header("ETag"))
            let put = try await http(
                "PUT", server, "/api/v1/status/08115001/10003", token: token, body: try jsonBody(["status": "online"]),
                contentType: "application/json")
            #expect(put.status == 200, "\(put.text)")
            let after = try await http("GET", server, "/api/v1/status/08115001")
            #expect(after.header("ETag") != before.header("ETag"))
            let cli = try await ozgtrack(["status", "08115001", "--format", "json", "--db", "db.sqlite"], in: directory)
            #expect(after.text == cli.stdout)
            #expect(after.text != before.text)
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
