import Foundation
import Testing

@testable import OZGCore

/// Imports dashboard exports (files in the database's directory) and returns the summary.
private func importDashboard(
    _ files: [(name: String, text: String)], into db: TestDatabase, dryRun: Bool = false
) throws -> ImportSummary {
    let paths = try files.map { try db.file($0.name, $0.text) }
    let validator = RecordValidator(catalogue: builtIn)
    return try Importer.run(
        [DashboardSource(paths: paths, validator: validator)], into: db.store,
        batch: BatchInfo(actor: "test", source: "dashboard", command: "import"), validator: validator, dryRun: dryRun)
}

private func importDashboard(_ text: String, into db: TestDatabase, dryRun: Bool = false) throws -> ImportSummary {
    try importDashboard([("export.csv", text)], into: db, dryRun: dryRun)
}

/// The error messages of a refused import.
private func refusal(_ text: String) throws -> String {
    let db = try TestDatabase()
    do {
        _ = try importDashboard(text, into: db)
    } catch let errors as InputErrors {
        #expect(try db.dump().split(separator: "\n").count == 1, "nothing is written")
        return String(describing: errors)
    }
    Issue.record("the import was not refused")
    return ""
}

private let header = "leika_key;leika_name;ars;ozgid;url;online_status;aktiv;art_flaechendeckung\n"

@Suite("Dashboard exports as published: repeats, several URLs, empty ozgid, newer columns")
struct DashboardImportTests {
    // MARK: Generated exports of hundreds of rows (scripts/generate-dashboard-fixtures.py)

    struct Expected: Decodable {
        var rowsRead, identicalRowsMerged, resolvedFromLeiKa, unknownLeiKa, unknownLeiKaRows: Int
        var unassignedLeiKa, unassignedLeiKaRows, records, choiceCount, inactiveRecords, online, inProgress: Int
        struct Record: Decodable {
            var status: String
            var url: String?
        }
        var sample: [String: Record]
    }

    @Test(
        "a generated export imports with the counts an independent implementation of the rules gives",
        arguments: ["generated-boeblingen.csv", "generated-open-pvog.csv"])
    func generated(name: String) throws {
        let folder = packageRoot.appendingPathComponent("Tests/Fixtures/dashboard")
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: folder.appendingPathComponent(name + ".expected.json")))
        let db = try TestDatabase()
        let validator = RecordValidator(catalogue: builtIn)
        let summary = try Importer.run(
            [DashboardSource(path: folder.appendingPathComponent(name).path, validator: validator)], into: db.store,
            batch: BatchInfo(actor: "test", source: name, command: "import"), validator: validator)
        let dashboard = try #require(summary.dashboard)
        #expect(dashboard.rowsRead == expected.rowsRead)
        #expect(dashboard.rowsRead >= 200, "hundreds of rows")
        #expect(dashboard.identicalRowsMerged == expected.identicalRowsMerged)
        #expect(dashboard.resolvedFromLeiKa == expected.resolvedFromLeiKa)
        #expect(dashboard.unknownLeiKa.count == expected.unknownLeiKa)
        #expect(dashboard.unknownLeiKa.reduce(0) { $0 + $1.rows } == expected.unknownLeiKaRows)
        #expect(dashboard.unassignedLeiKa.count == expected.unassignedLeiKa)
        #expect(dashboard.unassignedLeiKa.reduce(0) { $0 + $1.rows } == expected.unassignedLeiKaRows)
        #expect(dashboard.records == expected.records)
        #expect(dashboard.choiceCount == expected.choiceCount)
        #expect(summary.inserted == expected.records)
        #expect(summary.skipped == expected.inactiveRecords + expected.unknownLeiKaRows + expected.unassignedLeiKaRows)
        let dump = try db.dump()
        #expect(dump.components(separatedBy: ",online,").count - 1 == expected.online)
        #expect(dump.components(separatedBy: ",in_progress,").count - 1 == expected.inProgress)
        for (key, record) in expected.sample {
            let parts = key.split(separator: "/").map(String.init)
            let stored = try #require(try db.record(parts[0], parts[1]), "\(key)")
            #expect(stored.values.status.rawValue == record.status, "\(key)")
            #expect(stored.values.url == record.url, "\(key)")
        }
    }

    @Test("the generated exports cover every art_flaechendeckung value, both delimiters and higher-level ARS")
    func generatedCoverage() throws {
        let folder = packageRoot.appendingPathComponent("Tests/Fixtures/dashboard")
        var claims: Set<String> = []
        var delimiters: Set<Character> = []
        for name in ["generated-boeblingen.csv", "generated-open-pvog.csv"] {
            let db = try TestDatabase()
            let validator = RecordValidator(catalogue: builtIn)
            let path = folder.appendingPathComponent(name).path
            let summary = try Importer.run(
                [DashboardSource(path: path, validator: validator)], into: db.store,
                batch: BatchInfo(actor: "test", source: name, command: "import"), validator: validator, dryRun: true)
            claims.formUnion(summary.dashboard?.claims.map(\.claim) ?? [])
            let text = try String(contentsOfFile: path, encoding: .utf8)
            delimiters.insert(text.contains(";") && text.prefix(while: { $0 != "\n" }).contains(";") ? ";" : ",")
            #expect(text.hasPrefix("leika_key"))
        }
        #expect(
            claims == [
                "bundesweit_flaechendeckend", "landesweit_flaechendeckend", "kreisweit_flaechendeckend", "flaechendeckend",
                "nicht_flaechendeckend", "keine_angabe", "sonstige",
            ])
        #expect(delimiters == [";", ","])
    }

    // MARK: Repeats and several rows of one record

    @Test("identical rows merge silently into one")
    func identicalRows() throws {
        let db = try TestDatabase()
        let row = "99041006000000;Elterngeld;081110000000;10000;https://example.org/a;ok;ja;\n"
        let summary = try importDashboard(header + row + row + row, into: db)
        #expect(summary.inserted == 1)
        #expect(summary.warnings.isEmpty)
        #expect(summary.dashboard?.identicalRowsMerged == 2)
        #expect(summary.dashboard?.choiceCount == 0)
    }

    static let severalRows = [
        "99041006017000;Elterngeld Bewilligung;081110000000;;https://example.org/b;ok;ja;",
        "99041006000000;Elterngeld;081110000000;;https://example.org/z;nicht ok;ja;",
        "99041006000000;Elterngeld;081110000000;;https://example.org/y;ok;nein;",
        "99041006000000;Elterngeld;081110000000;;https://example.org/c;ok;ja;",
        "99041006000000;Elterngeld;081110000000;;https://example.org/a2;ok;ja;",
        "99041006013000;Elterngeld Informationserteilung;081110000000;;https://example.org/0;ok;ja;",
    ]

    @Test(
        "several rows of one region and OZG-ID: active with a working link wins, then the smallest LeiKa key, then the smallest URL — in any row order",
        arguments: [0, 1, 2, 3])
    func severalURLs(permutation: Int) throws {
        var rows = Self.severalRows
        switch permutation {
        case 1: rows.reverse()
        case 2: rows = rows.enumerated().sorted { ($0.offset * 5 + 2) % 6 < ($1.offset * 5 + 2) % 6 }.map(\.element)
        case 3: rows = Array(rows[3...] + rows[..<3])
        default: break
        }
        let db = try TestDatabase()
        let summary = try importDashboard(header + rows.joined(separator: "\n") + "\n", into: db)
        let record = try #require(try db.record("08111000", "10000"))
        #expect(record.values.status == .online)
        #expect(record.values.url == "https://example.org/a2")
        let choice = try #require(summary.dashboard?.choices.first)
        #expect(choice.leikaKey == "99041006000000")
        #expect(choice.rows == 6)
        #expect(choice.urls == 4)  // the inactive row's and the broken link's URLs are no candidates
        #expect(summary.dashboard?.combinedRecords == 1)
    }

    @Test("an active row whose link check fails gives in_progress; only inactive rows leave the record unchanged")
    func ranks() throws {
        let db = try TestDatabase()
        let summary = try importDashboard(
            header + "99041006000000;Elterngeld;081110000000;;https://example.org/a;nicht ok;ja;\n"
                + "99041006017000;Elterngeld Bewilligung;081110000000;;https://example.org/b;ok;nein;\n"
                + "99001001000000;Abfallgebühr;081110000000;;https://example.org/c;ok;nein;\n", into: db)
        #expect(try db.record("08111000", "10000")?.values.status == .inProgress)
        #expect(try db.record("08111000", "10000")?.values.url == nil)
        #expect(try db.record("08111000", "10110") == nil)
        #expect(summary.warnings.contains { $0.contains("OZG-ID 10110 is not active in the dashboard") })
    }

    // MARK: The OZG-ID from the LeiKa key

    @Test("an empty ozgid is resolved from the LeiKa key through the catalogue")
    func resolvedFromLeiKa() throws {
        let db = try TestDatabase()
        let summary = try importDashboard(
            header + "99001001000000;Abfallgebühr;081110000000;;https://example.org/abfall;ok;ja;\n"
                + "99041006000000;Elterngeld;081110000000;null;https://example.org/eg;ok;ja;\n", into: db)
        #expect(summary.inserted == 2)
        #expect(summary.dashboard?.resolvedFromLeiKa == 2)
        #expect(try db.record("08111000", "10110")?.values.url == "https://example.org/abfall")
    }

    @Test("an ozgid that disagrees with the catalogue's mapping of the LeiKa key is refused, naming both")
    func mismatch() throws {
        let message = try refusal(header + "99041006000000;Elterngeld;081110000000;10001;https://example.org/a;ok;ja;\n")
        #expect(message.contains("export.csv:2: ozgid: '10001' disagrees with the catalogue"))
        #expect(message.contains("maps leika_key 99041006000000 (Elterngeld) to OZG-ID 10000 (Elterngeld): expected 10000 or empty"))
    }

    @Test("a given ozgid is kept for a LeiKa key the catalogue does not know or maps to no OZG-Leistung")
    func givenOZGID() throws {
        let db = try TestDatabase()
        let summary = try importDashboard(
            header + "99990001000000;Neu;081110000000;10000;https://example.org/a;ok;ja;\n"
                + "99089003000000;Anzeige;081110000000;10417;https://example.org/b;ok;ja;\n", into: db)
        #expect(summary.inserted == 2)
        #expect(summary.dashboard?.unknownLeiKa.isEmpty == true)
    }

    @Test("rows without ozgid whose LeiKa key the catalogue does not know are skipped and listed with count and name")
    func unknownKeys() throws {
        let db = try TestDatabase()
        let summary = try importDashboard(
            header + "99990001000000;Neue Leistung;081110000000;;https://example.org/a;ok;ja;\n"
                + "99990001000000;Neue Leistung;081150000000;;https://example.org/b;ok;ja;\n"
                + "99089003000000;Anzeige;081110000000;;https://example.org/c;ok;ja;\n"
                + "99041006000000;Elterngeld;081110000000;;https://example.org/d;ok;ja;\n", into: db)
        let dashboard = try #require(summary.dashboard)
        #expect(dashboard.unknownLeiKa == [.init(key: "99990001000000", name: "Neue Leistung", rows: 2)])
        #expect(dashboard.unassignedLeiKa == [.init(key: "99089003000000", name: "Anzeige", rows: 1)])
        #expect(summary.skipped == 3)
        #expect(summary.inserted == 1)
        #expect(summary.warnings.isEmpty, "listed in the dashboard summary, not as warnings")
    }

    // MARK: The newer Open-PVOG export

    @Test("the Open-PVOG columns are read with ',' or ';'; datenstand_pvog_import and export_datum are the source dates",
          arguments: [",", ";"])
    func openPVOG(delimiter: String) throws {
        let columns = [
            "leika_key", "ars", "ozgid", "url", "online_status", "aktiv", "art_flaechendeckung", "begruendung_nicht_beruecksichtigt",
            "datenstand_pvog_import", "export_datum", "spalte_die_es_noch_nicht_gab",
        ]
        let rows = [
            ["99041006000000", "081110000000", "", "https://example.org/a", "ok", "ja", "", "", "2025-10-01", "2025-10-15T06:30:00Z", "x"],
            ["99001001000000", "081110000000", "", "https://example.org/b", "ok", "nein", "", "nicht zuständig", "01.10.2025", "2025-10-15", "y"],
        ]
        let text = ([columns] + rows).map { $0.joined(separator: delimiter) }.joined(separator: "\r\n") + "\r\n"
        let db = try TestDatabase()
        let summary = try importDashboard(text, into: db)
        #expect(summary.inserted == 1)
        #expect(summary.dashboard?.sourceDates == ["2025-10-01"])
        #expect(summary.dashboard?.exportDates == ["2025-10-15"])
    }

    @Test("JSON pages of the Open-PVOG export: null ozgid resolved, the newer fields read")
    func openPVOGJSON() throws {
        let page = """
            {"content": [
              {"leika_key": "99001001000000", "ars": "081155001001", "ozgid": null, "url": "https://example.org/a",
               "online_status": "ok", "aktiv": "ja", "art_flaechendeckung": null, "begruendung_nicht_beruecksichtigt": null,
               "datenstand_pvog_import": "2025-09-30T22:00:00Z", "export_datum": "2025-10-02"}
            ], "totalPages": 1, "last": true}
            """
        let db = try TestDatabase()
        let summary = try importDashboard([("page.json", page)], into: db)
        #expect(summary.inserted == 1)
        #expect(summary.dashboard?.resolvedFromLeiKa == 1)
        #expect(summary.dashboard?.sourceDates == ["2025-09-30"])
        #expect(try db.record("08115001", "10110")?.values.url == "https://example.org/a")
    }

    @Test("a datenstand that is no date is refused with line and field")
    func badSourceDate() throws {
        let message = try refusal(
            "leika_key,ars,ozgid,url,online_status,aktiv,datenstand_pvog_import\n"
                + "99041006000000,081110000000,,https://example.org/a,ok,ja,gestern\n")
        #expect(message.contains("export.csv:2: datenstand_pvog_import: 'gestern' is not a date"))
    }

    @Test(
        "the ARS of a Land, Bezirk, Kreis or Gemeindeverband (includeAbove) records for that unit",
        arguments: [("080000000000", "08"), ("081000000000", "081"), ("081150000000", "08115"), ("081155001000", "081155001")])
    func higherLevels(ars: String, key: String) throws {
        let db = try TestDatabase()
        _ = try importDashboard(header + "99041006000000;Elterngeld;\(ars);;https://example.org/a;ok;ja;\n", into: db)
        #expect(try db.record(key, "10000")?.values.status == .online)
    }

    @Test("several exports are one: a Land's row sent with every Gemeinde's export is one record, not a repeat")
    func severalFiles() throws {
        let db = try TestDatabase()
        let land = "99041006000000;Elterngeld;080000000000;;https://example.org/land;ok;ja;landesweit flächendeckend\n"
        let summary = try importDashboard(
            [
                ("a.csv", header + land + "99001001000000;Abfallgebühr;081155001001;;https://example.org/a;ok;ja;\n"),
                ("b.csv", header + land + "99001001000000;Abfallgebühr;081155001054;;https://example.org/b;ok;ja;\n"),
            ], into: db)
        #expect(summary.inserted == 3)
        #expect(summary.dashboard?.identicalRowsMerged == 1)
        #expect(summary.dashboard?.files.count == 2)
        #expect(try db.record("08115054", "10110")?.source == "dashboard")
    }

    // MARK: Claims against computed coverage

    @Test(
        "every art_flaechendeckung value is recognised",
        arguments: [
            ("bundesweit flächendeckend", "bundesweit_flaechendeckend"), ("Landesweit flaechendeckend", "landesweit_flaechendeckend"),
            ("kreisweit flächendeckend", "kreisweit_flaechendeckend"), ("flächendeckend", "flaechendeckend"),
            ("nicht flächendeckend", "nicht_flaechendeckend"), ("", "keine_angabe"), ("null", "keine_angabe"),
            ("teilweise", "sonstige"),
        ])
    func claimValues(text: String, identifier: String) {
        #expect(CoverageClaim(text).identifier == identifier)
    }

    @Test("the summary sets each claim beside the coverage computed from the imported records")
    func claims() throws {
        let db = try TestDatabase()
        // Kreis Böblingen's own record covers its 26 Gemeinden; Land 08 has one Gemeinde online only.
        let summary = try importDashboard(
            header + "99001001000000;Abfallgebühr;081150000000;;https://example.org/k;ok;ja;kreisweit flächendeckend\n"
                + "99041006000000;Elterngeld;081155001001;;https://example.org/e;ok;ja;landesweit flächendeckend\n"
                + "99041006000000;Elterngeld;081155001054;;https://example.org/e;nicht ok;ja;flächendeckend\n"
                + "99041006000000;Elterngeld;081160000000;;https://example.org/e;ok;ja;teilweise\n", into: db)
        let dashboard = try #require(summary.dashboard)
        let byClaim = Dictionary(uniqueKeysWithValues: dashboard.claims.map { ($0.claim, $0) })
        #expect(byClaim["kreisweit_flaechendeckend"]?.computedComplete == 1)
        #expect(byClaim["landesweit_flaechendeckend"]?.computedPartial == 1)
        #expect(byClaim["flaechendeckend"]?.computedNone == 1)  // Grafenau's link is broken: in progress
        #expect(byClaim["sonstige"]?.evaluated == false)
        #expect(byClaim["sonstige"]?.label == "teilweise")
        #expect(dashboard.contradictionCount == 2)
        let land = try #require(dashboard.contradictions.first { $0.area == "08" })
        #expect(land.ozgID == "10000")
        #expect(land.online == 1 + builtIn.regions.descendants(of: try RegionKey("08116"), level: .gemeinde).count)
        #expect(land.gemeinden == builtIn.regions.descendants(of: try RegionKey("08"), level: .gemeinde).count)
        #expect(land.computed == "mindestens_eine")
    }

    @Test("a dry run gives the same summary and writes nothing")
    func dryRun() throws {
        let db = try TestDatabase()
        let text = header + "99041006000000;Elterngeld;081110000000;;https://example.org/a;ok;ja;flächendeckend\n"
        let dry = try importDashboard(text, into: db, dryRun: true)
        #expect(try db.record("08111000", "10000") == nil)
        let real = try importDashboard(text, into: db)
        #expect(dry.dashboard == real.dashboard)
    }
}

@Suite("Bulk writes: one update for many records, one transaction")
struct BulkSetTests {
    @Test("a selection resolves --within and --level to the units of that level, and a Themenfeld to its services")
    func selection() throws {
        let selection = try RecordSelection.resolve(
            regions: ["08111000"], within: "08115", level: .gemeinde, services: ["10000"], topic: nil, catalogue: builtIn)
        #expect(selection.regions.count == 27)
        #expect(selection.count == 27)
        let topic = try RecordSelection.resolve(regions: ["08"], services: [], topic: "1", catalogue: builtIn)
        #expect(topic.services == builtIn.services.services(inThemenfeld: 1).map(\.id))
    }

    @Test("errors name the part of the selection", arguments: [
        (["0811"], nil as String?, ["10000"], "region"), (["08111000"], "08115", ["99999"], "service"),
        (["08111000"], "08999", ["10000"], "within"),
    ])
    func selectionErrors(regions: [String], within: String?, services: [String], field: String) throws {
        do {
            _ = try RecordSelection.resolve(
                regions: regions, within: within, level: .gemeinde, services: services, catalogue: builtIn)
            Issue.record("accepted")
        } catch {
            #expect(error.field == field)
        }
    }

    @Test("all records are written in one transaction; unchanged ones are only counted")
    func writes() throws {
        let db = try TestDatabase()
        _ = try db.set("08115001", "10000", RecordUpdate(status: .online, solution: "EfA"))
        let selection = try RecordSelection.resolve(regions: [], within: "08115", level: .gemeinde, services: ["10000"], catalogue: builtIn)
        let outcome = try Importer.set(
            selection, RecordUpdate(status: .online, solution: "EfA"), into: db.store,
            batch: BatchInfo(actor: "test", source: "cli", command: "set"))
        #expect(outcome.created == 25)
        #expect(outcome.unchanged == 1)
        #expect(outcome.changes.allSatisfy { $0.created && $0.fields == [.status, .solution] })
        #expect(try db.record("08115054", "10000")?.values.solution == "EfA")
        // One history batch: the 25 changes share their time to the millisecond.
        var times: Set<Date> = []
        var count = 0
        try db.store.read { reader in
            try reader.forEachChange(prefix: "08115", exact: false, service: nil, from: nil, to: nil) { change in
                guard change.key.region.description != "08115001" else { return }
                times.insert(change.at)
                count += 1
            }
        }
        #expect(count == 25)
        #expect(times.count == 1)
    }

    @Test("one record the update cannot apply to refuses all, naming region and OZG-ID")
    func refusesAll() throws {
        let db = try TestDatabase()
        _ = try db.set("08115001", "10000", RecordUpdate(status: .online))
        let selection = RecordSelection(regions: [try RegionKey("08115001"), try RegionKey("08115002")], services: [try OZGID("10000")])
        do {
            _ = try Importer.set(selection, RecordUpdate(maturity: 3), into: db.store, batch: BatchInfo(actor: "t", source: "cli", command: "set"))
            Issue.record("written")
        } catch let errors as InputErrors {
            #expect(errors.total == 1)
            #expect(errors.errors.first?.message.hasPrefix("region 08115002, OZG-ID 10000: missing") == true)
            #expect(errors.errors.first?.field == "status")
        }
        #expect(try db.record("08115001", "10000")?.values.maturity == nil)
    }

    @Test("a dry run counts and writes nothing")
    func dryRun() throws {
        let db = try TestDatabase()
        let selection = RecordSelection(regions: [try RegionKey("08")], services: [try OZGID("10000"), try OZGID("10001")])
        let outcome = try Importer.set(
            selection, RecordUpdate(status: .planned), into: db.store, batch: BatchInfo(actor: "t", source: "cli", command: "set"),
            dryRun: true)
        #expect(outcome.created == 2)
        #expect(outcome.dryRun)
        #expect(try db.record("08", "10000") == nil)
    }
}
