import Foundation
import Testing

/// Many clients at once, and shutting down while writing, over real HTTP.
@Suite("Service: concurrency and shutdown", .serialized)
struct ConcurrencyTests {
    /// 50 Gemeinden of Baden-Württemberg and their XML reports, written by `ozgtrack report` from a database in
    /// which each has a few records.
    func gemeindeReports(in directory: URL, count: Int) async throws -> [(key: String, xml: Data)] {
        let source = directory.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        #expect(try await ozgtrack(["init", "--db", "db.sqlite"], in: source).status == 0)
        let list = try await ozgtrack(["regions", "list", "--within", "08", "--level", "gemeinde", "--format", "json"], in: source)
        let units = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        let keys = units.prefix(count).compactMap { $0["key"] as? String }
        #expect(keys.count == count)
        var csv = "region,ozg_id,status,maturity,url\n"
        for (index, key) in keys.enumerated() {
            csv += "\(key),10244,online,3,https://example.org/\(index)\n\(key),10089,planned,,\n"
        }
        try csv.write(to: source.appendingPathComponent("seed.csv"), atomically: true, encoding: .utf8)
        let seeded = try await ozgtrack(["import", "--db", "db.sqlite", "seed.csv"], in: source)
        #expect(seeded.status == 0, "\(seeded.stderr)")
        var reports: [(key: String, xml: Data)] = []
        for key in keys {
            let report = try await ozgtrack(["report", "--db", "db.sqlite", "--scope", key, "--format", "xml", "--output", "\(key).xml"], in: source)
            #expect(report.status == 0, "\(report.stderr)")
            reports.append((key, try Data(contentsOf: source.appendingPathComponent("\(key).xml"))))
        }
        return reports
    }

    @Test("50 concurrent Gemeinde XML submissions all land, each with its complete history")
    func concurrentSubmissions() async throws {
        try await withDatabase { directory in
            let reports = try await gemeindeReports(in: directory, count: 50)
            let token = try await createToken("Land Baden-Württemberg", scope: "08", role: "write", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--rate-limit", "0"])
            let statuses = try await withThrowingTaskGroup(of: (String, Int, String).self) { group in
                for report in reports {
                    group.addTask {
                        let response = try await http(
                            "POST", server, "/api/v1/import", token: token, body: report.xml, contentType: "application/xml")
                        return (report.key, response.status, response.text)
                    }
                }
                var results: [(String, Int, String)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(statuses.count == 50)
            for (key, status, text) in statuses { #expect(status == 200, "\(key): \(text)") }
            for report in reports {
                let history = try #require(
                    try await http("GET", server, "/api/v1/history/\(report.key)", token: token).json() as? [[String: Any]])
                #expect(Set(history.compactMap { $0["ozgID"] as? String }) == ["10244", "10089"], "\(report.key)")
                #expect(history.allSatisfy { $0["actor"] as? String == "Land Baden-Württemberg" })
            }
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("SIGTERM during an import: the import completes (or rolls back whole), the server exits 0")
    func sigtermDuringImport() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Ministerium", scope: nil, role: "admin", in: directory)
            let list = try await ozgtrack(["regions", "list", "--within", "08", "--level", "gemeinde", "--format", "json"], in: directory)
            let units = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
            let catalogue = try await ozgtrack(["catalogue", "services", "--format", "json"], in: directory)
            let services = try #require(try JSONSerialization.jsonObject(with: Data(catalogue.stdout.utf8)) as? [[String: Any]])
            var csv = "region,ozg_id,status,maturity\n"
            var rows = 0
            for unit in units {
                guard let key = unit["key"] as? String else { continue }
                for service in services.prefix(60) {
                    guard let id = service["ozgID"] as? String else { continue }
                    csv += "\(key),\(id),online,2\n"
                    rows += 1
                }
            }
            let server = try await Server.start(directory: directory, arguments: ["--rate-limit", "0"])
            let upload = Task { try await http("POST", server, "/api/v1/import", token: token, body: Data(csv.utf8), contentType: "text/csv") }
            try await Task.sleep(for: .milliseconds(400))
            let exit = try await server.terminate()
            let response = try? await upload.value
            #expect(exit == 0, "\(server.log)")
            let dump = try await ozgtrack(["dump", "--db", "db.sqlite"], in: directory)
            let stored = dump.stdout.split(separator: "\n").count - 1
            if let response, response.status == 200 {
                #expect(stored == rows)
            } else {
                #expect(stored == 0 || stored == rows, "a partial import: \(stored) of \(rows) rows")
            }
        }
    }
}
