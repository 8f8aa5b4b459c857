import Foundation
import Testing

@Suite("CLI: dashboard exports as published, run as the built binary")
struct DashboardCLITests {
    let folder = packageRoot.appendingPathComponent("Tests/Fixtures/dashboard")

    func expected(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name + ".expected.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("the text summary shows merged repeats, resolved OZG-IDs, unmapped keys with names, and claims beside computed coverage")
    func textSummary() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let name = "generated-boeblingen.csv"
            let numbers = try expected(name)
            let run = try ozgtrack(["import", folder.appendingPathComponent(name).path, "--format", "dashboard"], in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            let records = try #require(numbers["records"] as? Int)
            #expect(run.stdout.hasPrefix("imported \(records) rows: \(records) inserted, 0 updated, 0 unchanged"))
            #expect(
                run.stdout.contains(
                    "dashboard: \(numbers["rowsRead"] ?? 0) rows read, \(numbers["identicalRowsMerged"] ?? 0) identical repeats merged, "
                        + "\(numbers["resolvedFromLeiKa"] ?? 0) OZG-IDs taken from the LeiKa key"))
            #expect(run.stdout.contains("LeiKa keys the catalogue does not know:\n  99990001000000 Generierte Leistung ohne Katalogeintrag"))
            #expect(run.stdout.contains("LeiKa keys the catalogue maps to no OZG-Leistung:\n  99089003000000 Anzeige"))
            #expect(run.stdout.contains("records had several URLs; chosen: active with a working link"))
            #expect(run.stdout.contains("  claim                      rows  areas × services  flaechendeckend  mindestens_eine  keine\n"))
            #expect(run.stdout.contains("  kreisweit flächendeckend "))
            #expect(run.stdout.contains("  teilweise "))
            #expect(run.stdout.contains("areas claimed flächendeckend are not covered by the imported records:"))
            // Unmapped keys are in the summary; the warnings count only what they list themselves.
            #expect(!run.stderr.contains("99990001000000"))
            let inactive = try #require(numbers["inactiveRecords"] as? Int)
            let warnings = run.stderr.split(separator: "\n").filter { $0.contains("is not active in the dashboard") }.count
            let more = inactive - warnings
            if more > 0 { #expect(run.stderr.contains("… \(more) more rows skipped")) }
        }
    }

    @Test("--summary json carries the dashboard part; unknown keys with their names and row counts")
    func jsonSummary() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let name = "generated-open-pvog.csv"
            let numbers = try expected(name)
            let run = try ozgtrack(
                ["import", folder.appendingPathComponent(name).path, "--format", "dashboard", "--summary", "json", "--dry-run"],
                in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try json(run.stdout) as? [String: Any])
            let dashboard = try #require(object["dashboard"] as? [String: Any])
            #expect(dashboard["records"] as? Int == numbers["records"] as? Int)
            #expect(dashboard["sourceDates"] as? [String] == ["2025-10-01"])
            let unknown = try #require(dashboard["unknownLeiKa"] as? [[String: Any]])
            #expect(unknown.first?["key"] as? String == "99990004000000")
            #expect(unknown.first?["rows"] as? Int == numbers["unknownLeiKaRows"] as? Int)
            let claims = try #require(dashboard["claims"] as? [[String: Any]])
            #expect(claims.count == 7)
            #expect(try ozgtrack(["dump"], in: directory).stdout.split(separator: "\n").count == 1)
        }
    }

    @Test("datenstand_pvog_import is kept as the source of every record the import writes")
    func sourceDate() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let name = "generated-open-pvog.csv"
            let run = try ozgtrack(["import", folder.appendingPathComponent(name).path, "--format", "dashboard"], in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("dashboard: source date: Datenstand PVOG 2025-10-01; exported 2025-10-15\n"))
            let history = try ozgtrack(["history", "08", "--format", "json"], in: directory)
            let changes = try #require(try json(history.stdout) as? [[String: Any]])
            #expect(!changes.isEmpty)
            #expect(changes.allSatisfy { $0["source"] as? String == "\(name) (Datenstand PVOG 2025-10-01)" })
        }
    }

    @Test("several dashboard files are one export: the Land's rows each of them repeats become one record")
    func severalFiles() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let header = "leika_key,ars,ozgid,url,online_status,aktiv\n"
            let land = "99041006000000,080000000000,,https://example.org/land,ok,ja\n"
            try (header + land + "99001001000000,081155001001,,https://example.org/a,ok,ja\n")
                .write(to: directory.appendingPathComponent("aidlingen.csv"), atomically: true, encoding: .utf8)
            try (header + land + "99001001000000,081155001054,,https://example.org/b,ok,ja\n")
                .write(to: directory.appendingPathComponent("grafenau.csv"), atomically: true, encoding: .utf8)
            let run = try ozgtrack(["import", "aidlingen.csv", "grafenau.csv", "--format", "dashboard"], in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("imported 3 rows: 3 inserted"))
            #expect(run.stdout.contains("1 identical repeats merged"))
        }
    }
}
