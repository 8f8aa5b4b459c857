import Foundation
import Testing

@testable import OZGCore

@Suite("Recording: set, history and the state at any past date")
struct RecordingTests {
    @Test("setting values that are already stored changes nothing and writes no history")
    func idempotentSet() throws {
        let db = try TestDatabase()
        let update = RecordUpdate(status: .online, maturity: 3, url: "https://example.org/a")
        #expect(try db.set("08111000", "10000", update).changed)
        #expect(try db.set("08111000", "10000", update).changed == false)
        #expect(try db.set("08111000", "10000", RecordUpdate(status: .online)).changed == false)
        let history = try History.changes(store: db.store, region: RegionKey("08111000"), service: nil, since: nil)
        #expect(history.count == 1)
    }

    @Test("every change is appended with old and new values, who, when and from where")
    func history() throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .planned, planned: ISODate("2025-03-01")), at: time("2025-01-10T09:00:00Z"), actor: "anna")
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online, onlineSince: ISODate("2025-03-02")), at: time("2025-03-02T10:00:00Z"), actor: "ben")
        let changes = try History.changes(store: db.store, region: RegionKey("08111000"), service: nil, since: nil)
        #expect(changes.count == 2)
        #expect(changes[0].old == nil)
        #expect(changes[0].actor == "anna")
        #expect(changes[1].old?.status == .planned)
        #expect(changes[1].new.status == .online)
        #expect(changes[1].fields == [.status, .onlineSince])
        #expect(changes[1].actor == "ben")
        #expect(changes[1].source == "cli")
        let since = try History.changes(store: db.store, region: RegionKey("08111000"), service: nil, since: time("2025-02-01T00:00:00Z"))
        #expect(since.count == 1)
    }

    @Test(
        "--as-of reconstructs the state at the end of any past day",
        arguments: [
            ("2025-01-09", nil), ("2025-01-10", Status.planned), ("2025-03-01", .planned), ("2025-03-02", .inProgress),
            ("2025-06-30", .online), ("2030-01-01", .notApplicable),
        ])
    func asOf(day: String, expected: Status?) throws {
        let db = try TestDatabase()
        let steps: [(String, Status)] = [
            ("2025-01-10T09:00:00Z", .planned), ("2025-03-02T23:59:59Z", .inProgress), ("2025-06-30T08:00:00Z", .online),
            ("2026-02-01T00:00:00Z", .notApplicable),
        ]
        for (moment, status) in steps { _ = try db.set("08111000", "10000", RecordUpdate(status: status), at: time(moment)) }
        let asOf = try Timestamp.parse(day, endOfDay: true)
        #expect(try db.record("08111000", "10000", asOf: asOf)?.values.status == expected)
    }

    @Test("history is only appended to: a back-filled change may not be earlier than the latest one")
    func appendOnly() throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .planned), at: time("2025-05-01T00:00:00Z"))
        #expect(throws: InputError.self) {
            try db.set("08111000", "10001", RecordUpdate(status: .planned), at: time("2025-04-01T00:00:00Z"))
        }
    }

    @Test("a new record needs a status; a Reifegrad must fit its model")
    func recordRules() throws {
        let db = try TestDatabase()
        #expect(throws: InputError.self) { try db.set("08111000", "10000", RecordUpdate(maturity: 2)) }
        _ = try db.set("08111000", "10000", RecordUpdate(status: .inProgress, maturity: 4))
        #expect(throws: InputError.self) { try db.set("08111000", "10000", RecordUpdate(maturity: 5)) }
        _ = try db.set("08111000", "10000", RecordUpdate(maturity: 6, maturityModel: .v2))
        #expect(try db.record("08111000", "10000")?.values.maturityText == "6 (Modell 2)")
        #expect(throws: InputError.self) { try db.set("08111000", "10000", RecordUpdate(maturityModel: .v1)) }
        _ = try db.set("08111000", "10000", RecordUpdate(clear: [.maturity]))
        #expect(try db.record("08111000", "10000")?.values.maturityModel == nil)
    }

    @Test(
        "statuses are accepted in English and German",
        arguments: [
            ("not_started", Status.notStarted), ("nicht begonnen", .notStarted), ("Geplant", .planned),
            ("in Umsetzung", .inProgress), ("in_umsetzung", .inProgress), ("IN-PROGRESS", .inProgress), ("online", .online),
            ("nicht zuständig", .notApplicable), ("nicht zustaendig", .notApplicable), ("not_applicable", .notApplicable),
        ])
    func statusWords(text: String, expected: Status) throws {
        #expect(try Status(parsing: text) == expected)
    }

    @Test("unknown status words are refused with the accepted ones", arguments: ["onlin", "fertig", ""])
    func unknownStatus(text: String) {
        #expect(throws: InputError.self) { try Status(parsing: text) }
    }

    @Test("records of a Kreis count for its Gemeinden, shown as 'via'")
    func higherLevel() throws {
        let db = try TestDatabase()
        _ = try db.set("08115", "10046", RecordUpdate(status: .online))
        _ = try db.set("08115001", "10000", RecordUpdate(status: .online))
        _ = try db.set("08115001", "10001", RecordUpdate(status: .notApplicable))
        let aidlingen = try #require(builtIn.regions.region(RegionKey("08115001")))
        let view = try StatusView.make(store: db.store, catalogue: builtIn, region: aidlingen, filter: ServiceFilter(), asOf: nil)
        #expect(view.counts.online == 1)
        #expect(view.counts.onlineIncludingHigherLevel == 2)
        #expect(view.counts.relevant == 556)
        #expect(view.rows.first { $0.service.id.description == "10046" }?.via?.description == "08115")
    }
}

@Suite("Import: all or nothing, every bad row reported")
struct ImportTests {
    static let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    /// A large valid file: every Gemeinde of Baden-Württemberg × the first `services` services.
    static func largeFile(services: Int) -> (text: String, rows: Int) {
        let gemeinden = builtIn.regions.descendants(of: RegionKey(canonical: "08"), level: .gemeinde)
        var text = header
        var rows = 0
        for gemeinde in gemeinden {
            for service in builtIn.services.services.prefix(services) {
                text += "\(gemeinde.key),\(service.id),online,3,1,,2024-01-01,https://example.org/\(service.id),,\n"
                rows += 1
            }
        }
        return (text, rows)
    }

    @Test("a bad row in the middle of a large file: nothing is written, the row is named")
    func allOrNothing() throws {
        let db = try TestDatabase()
        _ = try db.importCSV(Self.header + "08111000,10000,planned,,,,,,,before\n")
        let before = try db.dump()
        var (text, rows) = Self.largeFile(services: 20)
        var lines = text.components(separatedBy: "\n")
        let middle = rows / 2
        lines[middle] = lines[middle].replacingOccurrences(of: ",online,3,", with: ",online,9,")
        text = lines.joined(separator: "\n")
        do {
            _ = try db.importCSV(text)
            Issue.record("a file with a bad row was imported")
        } catch let errors as InputErrors {
            #expect(errors.total == 1)
            #expect(errors.errors.first?.line == middle + 1)
            #expect(errors.errors.first?.field == "maturity")
            #expect(String(describing: errors).contains(".csv:\(middle + 1): maturity: '9' is out of range"))
        }
        #expect(try db.dump() == before)
        #expect(rows > 20_000)
    }

    @Test("all bad rows are counted, the first 50 listed")
    func errorCap() throws {
        let db = try TestDatabase()
        var text = Self.header
        for index in 0..<120 { text += "08111000,\(10000 + index),bogus,,,,,,,\n" }
        do {
            _ = try db.importCSV(text)
            Issue.record("imported")
        } catch let errors as InputErrors {
            #expect(errors.total == 120)
            #expect(errors.errors.count == 50)
            #expect(String(describing: errors).contains("… and 70 more errors not shown"))
        }
    }

    @Test("the same region and OZG-ID twice in one file is an error naming both lines")
    func duplicates() throws {
        let db = try TestDatabase()
        let text = Self.header + "08111000,10000,online,,,,,,,\n08111001,10000,online,,,,,,,\n081110000000,10000,planned,,,,,,,\n"
        do {
            _ = try db.importCSV(text)
            Issue.record("imported")
        } catch let errors as InputErrors {
            #expect(errors.errors.count == 2)  // 08111001 is unknown; the ARS names 08111000 again
            #expect(String(describing: errors).contains(":4: region 08111000 and OZG-ID 10000 appear again (first on line 2)"))
        }
        #expect(try db.dump() == Self.header)
    }

    @Test(
        "unknown and malformed keys are errors with file, line and field, never new rows",
        arguments: [
            ("08999999,10000,online", "region: '08999999' is not in the territory edition 2025-11-30"),
            ("0811100,10000,online", "region: '0811100' is not a region key"),
            ("08111000,99999,online", "ozg_id: '99999' is not in the OZG catalogue"),
            ("08111000,1000,online", "ozg_id: '1000' is not an OZG-ID"),
            ("08111000,10000,online,,,2024-02-30", "planned: '2024-02-30' is not a date"),
            ("08111000,10000,online,,,,,ftp://x", "url: 'ftp://x' is not a web address"),
        ])
    func unknownKeys(row: String, message: String) throws {
        let db = try TestDatabase()
        let columns = row.split(separator: ",", omittingEmptySubsequences: false).count
        let padded = row + String(repeating: ",", count: 10 - columns)
        do {
            _ = try db.importCSV(Self.header + padded + "\n")
            Issue.record("imported \(row)")
        } catch let errors as InputErrors {
            #expect(String(describing: errors).contains(":2: " + message), "\(errors)")
        }
        #expect(try db.dump() == Self.header)
    }

    @Test("--skip-unknown skips rows with keys the editions do not have and lists them")
    func skipUnknown() throws {
        let db = try TestDatabase()
        let summary = try db.importCSV(
            Self.header + "08999999,10000,online,,,,,,,\n08111000,99999,online,,,,,,,\n08111000,10000,online,,,,,,,\n",
            skipUnknown: true)
        #expect(summary.inserted == 1)
        #expect(summary.skipped == 2)
        #expect(summary.warnings.count == 2)
    }

    @Test("--dry-run counts inserts, updates and unchanged rows and writes nothing")
    func dryRun() throws {
        let db = try TestDatabase()
        _ = try db.importCSV(Self.header + "08111000,10000,online,,,,,,,\n08111000,10001,planned,,,,,,,\n")
        let before = try db.dump()
        let summary = try db.importCSV(
            Self.header + "08111000,10000,online,,,,,,,\n08111000,10001,online,,,,,,,\n08111000,10002,online,,,,,,,\n", dryRun: true)
        #expect(summary.inserted == 1)
        #expect(summary.updated == 1)
        #expect(summary.unchanged == 1)
        #expect(summary.dryRun)
        #expect(try db.dump() == before)
    }

    @Test(
        "CSV dialects: BOM, semicolons, CRLF, columns in any order, empty cells keep stored values",
        arguments: [
            "\u{FEFF}region;ozg_id;note\r\n08111000;10000;\"a; b\"\r\n",
            "ozg_id,note,region\n10000,\"a; b\",08111000\n",
        ])
    func dialects(text: String) throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online, maturity: 2))
        let summary = try db.importCSV(text)
        #expect(summary.updated == 1)
        let record = try #require(try db.record("08111000", "10000"))
        #expect(record.values.note == "a; b")
        #expect(record.values.status == .online)
        #expect(record.values.maturity == 2)
    }

    @Test("an unknown column is refused")
    func unknownColumn() throws {
        let db = try TestDatabase()
        #expect(throws: InputError.self) { try db.importCSV("region,ozg_id,stauts\n08111000,10000,online\n") }
    }

    @Test("importing a dump into an empty database and dumping again gives the same bytes")
    func dumpRoundTrip() throws {
        let first = try TestDatabase()
        _ = try first.set("08111000", "10000", RecordUpdate(status: .online, maturity: 3, onlineSince: ISODate("2024-05-01"), url: "https://example.org/a?x=1,2", solution: "EfA \"Elterngeld digital\"", note: "Zeile 1\nZeile 2; mit Komma, und \"Anführungszeichen\""))
        _ = try first.set("08", "10001", RecordUpdate(status: .planned, planned: ISODate("2026-01-31"), note: "Ä Ö Ü ß – Budyšin"))
        _ = try first.set("081155001", "10002", RecordUpdate(status: .notApplicable))
        _ = try first.set("08115", "10046", RecordUpdate(status: .inProgress, maturity: 5, maturityModel: .v2))
        let dump = try first.dump()
        let second = try TestDatabase()
        let summary = try second.importCSV(dump)
        #expect(summary.inserted == 4)
        #expect(try second.dump() == dump)
        #expect(dump.hasPrefix(Self.header))
    }
}

@Suite("The Dashboard Digitale Verwaltung export")
struct DashboardTests {
    func importDashboard(_ name: String, into db: TestDatabase) throws -> ImportSummary {
        let validator = RecordValidator(catalogue: builtIn)
        let path = packageRoot.appendingPathComponent("Tests/Fixtures/dashboard/\(name)").path
        return try Importer.run(
            [DashboardSource(path: path, validator: validator)], into: db.store,
            batch: BatchInfo(actor: "test", source: name, command: "import"), validator: validator)
    }

    @Test("an active row with a working link is online; a broken link is in progress; inactive rows change nothing")
    func mappingCSV() throws {
        let db = try TestDatabase()
        let summary = try importDashboard("export.csv", into: db)
        #expect(summary.inserted == 3)
        #expect(summary.skipped == 2)  // inactive Strafanzeige, row without OZG-ID
        let elterngeld = try #require(try db.record("08111000", "10000"))
        #expect(elterngeld.values.status == .online)
        #expect(elterngeld.values.url == "https://www.elterngeld-digital.de/")  // the first active, working row
        #expect(elterngeld.source == "export.csv")
        #expect(try db.record("08111000", "10376")?.values.status == .inProgress)
        #expect(try db.record("08111000", "10417") == nil)
        #expect(try db.record("08", "10000")?.values.status == .online)  // the padded ARS of the Land
    }

    @Test("JSON pages map the same way")
    func mappingJSON() throws {
        let db = try TestDatabase()
        let summary = try importDashboard("page.json", into: db)
        #expect(summary.inserted == 2)
        #expect(try db.record("08111000", "10000")?.values.status == .online)
        #expect(try db.record("08111000", "10376")?.values.status == .inProgress)
    }

    @Test("an unknown online_status is an error naming line and field")
    func badValue() throws {
        let db = try TestDatabase()
        do {
            _ = try importDashboard("bad-status.csv", into: db)
            Issue.record("imported")
        } catch let errors as InputErrors {
            #expect(String(describing: errors).contains("bad-status.csv:3: online_status: 'vielleicht': expected ok or nicht ok"))
        }
        #expect(try db.record("08111000", "10000") == nil)
    }
}

@Suite("check, diff and the store's guarantees")
struct AnalysisTests {
    @Test("records of a region the territory edition no longer has are kept and reported with their former name")
    func orphans() throws {
        let db = try TestDatabase()
        // Niedergeckler (07232089) was merged away after 2021; a record from back then stays.
        try db.store.write(BatchInfo(actor: "test", source: "old.csv", command: "import")) { writer in
            try writer.put(RecordKey(region: RegionKey("07232089"), service: OZGID("10000")), RecordValues(status: .online))
        }
        var options = Check.Options()
        options.scope = try RegionKey("07")
        let result = try Check.run(store: db.store, catalogue: builtIn, options: options)
        #expect(!result.holds)
        #expect(result.orphanedRecords == 1)
        let finding = try #require(result.shortfalls.first)
        #expect(finding.kind == "unknown-region")
        #expect(finding.message.contains("Niedergeckler in the territory edition 2021-11-30"))
        #expect(try db.dump().contains("07232089,10000,online"))
    }

    @Test("--min-online applies per Gemeinde, excludes not_applicable and counts the Kreis's offers")
    func minOnline() throws {
        let db = try TestDatabase()
        var options = Check.Options()
        options.scope = try RegionKey("08115001")
        options.filter = ServiceFilter(themenfeld: 11)  // Recht & Ordnung: 15 services
        options.minOnline = 20
        #expect(try Check.run(store: db.store, catalogue: builtIn, options: options).holds == false)
        let services = ServiceFilter(themenfeld: 11).services(in: builtIn.services)
        _ = try db.set("08115", services[0].id.description, RecordUpdate(status: .online))
        _ = try db.set("08115001", services[1].id.description, RecordUpdate(status: .online))
        for service in services[2..<7] { _ = try db.set("08115001", service.id.description, RecordUpdate(status: .notApplicable)) }
        let result = try Check.run(store: db.store, catalogue: builtIn, options: options)
        #expect(result.counts.relevant == 10)
        #expect(result.counts.onlineIncludingHigherLevel == 2)
        #expect(result.holds)
        options.includeHigherLevel = false
        #expect(try Check.run(store: db.store, catalogue: builtIn, options: options).holds == false)
    }

    @Test("--min-maturity lists online records below the level")
    func minMaturity() throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online, maturity: 2))
        _ = try db.set("08111000", "10001", RecordUpdate(status: .online, maturity: 3))
        _ = try db.set("08111000", "10002", RecordUpdate(status: .online))
        var options = Check.Options()
        options.minMaturity = 3
        let result = try Check.run(store: db.store, catalogue: builtIn, options: options)
        #expect(result.shortfalls.map(\.ozgID) == ["10000", "10002"])
    }

    @Test("diff compares the state at the start and end of a period; a change undone is no difference")
    func diff() throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .planned), at: time("2025-01-01T10:00:00Z"))
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online), at: time("2025-02-01T10:00:00Z"))
        _ = try db.set("08111000", "10001", RecordUpdate(status: .planned), at: time("2025-02-02T10:00:00Z"))
        _ = try db.set("08111000", "10001", RecordUpdate(status: .online), at: time("2025-02-03T10:00:00Z"))
        _ = try db.set("08111000", "10000", RecordUpdate(status: .planned), at: time("2025-02-04T10:00:00Z"))
        var found: [History.Difference] = []
        try History.differences(
            store: db.store, scope: RegionScope(nil, in: builtIn.regions), since: time("2025-01-15T00:00:00Z"), until: nil
        ) { found.append($0) }
        #expect(found.map(\.key.service.description) == ["10001"])
        #expect(found.first?.old == nil)
        #expect(found.first?.changes == 2)
    }

    @Test("a database written by a newer version, or another program's database, is refused")
    func foreignDatabases() throws {
        let db = try TestDatabase()
        _ = try db.set("08111000", "10000", RecordUpdate(status: .online))
        let path = db.path
        let newer = Process()
        newer.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        newer.arguments = [path, "INSERT INTO grdb_migrations VALUES ('v99-from-the-future')"]
        try newer.run()
        newer.waitUntilExit()
        #expect(throws: StoreError.self) { try SQLiteStore(path: path, mode: .read) }
        #expect(throws: StoreError.self) { try SQLiteStore(path: path, mode: .write) }
        let other = db.directory.appendingPathComponent("other.sqlite").path
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        create.arguments = [other, "CREATE TABLE t(x)"]
        try create.run()
        create.waitUntilExit()
        #expect(throws: StoreError.self) { try SQLiteStore(path: other, mode: .write) }
        #expect(throws: StoreError.self) { try SQLiteStore(path: db.directory.appendingPathComponent("missing.sqlite").path, mode: .read) }
    }

    @Test("the duplicate detector finds repeats in sorted and unsorted input")
    func duplicateDetector() throws {
        var detector = DuplicateDetector()
        func key(_ region: String, _ service: Int) throws -> RecordKey {
            RecordKey(region: try RegionKey(region), service: try #require(OZGID(value: service)))
        }
        #expect(detector.insert(try key("08111000", 10000), file: "a", line: 2) == nil)
        #expect(detector.insert(try key("08111000", 10001), file: "a", line: 3) == nil)
        #expect(detector.insert(try key("08", 10001), file: "a", line: 4) == nil)
        #expect(detector.insert(try key("08111000", 10000), file: "b", line: 9)?.line == 2)
        #expect(detector.insert(try key("08", 10001), file: "b", line: 10)?.line == 4)
        #expect(detector.insert(try key("081110000", 10000), file: "b", line: 11) == nil)
    }

    @Test("the duplicate detector finds repeats in input in random order, before and after it sizes its table for the rest")
    func duplicateDetectorShuffled() throws {
        var detector = DuplicateDetector()
        let rows = DuplicateDetector.shuffledThreshold * 3
        detector.reserve(rows * 2, likely: rows)
        // Keys in a fixed pseudo-random order: a multiplicative permutation of 0..<rows.
        func packed(_ index: Int) -> UInt64 {
            let position = (index &* 2_654_435_761) % rows
            return DuplicateDetector.pack(
                region: PackedRegionKey(value: 8_100_000 + position / 500, length: 8), service: OZGID(value: 10000 + position % 500)!)
        }
        var early: (index: Int, line: Int)?
        for index in 0..<rows {
            let line = index + 2
            #expect(detector.insert(packed: packed(index), file: "shuffled.csv", line: line) == nil)
            if index == 1_000 { early = (index, line) }
        }
        let first = try #require(early)
        let repeatEarly = detector.insert(packed: packed(first.index), file: "again.csv", line: 7)
        #expect(repeatEarly?.file == "shuffled.csv")
        #expect(repeatEarly?.line == first.line)
        let repeatLate = detector.insert(packed: packed(rows - 1), file: "again.csv", line: 8)
        #expect(repeatLate?.line == rows + 1)
    }

    @Test("the duplicate detector names the first file and line among a thousand files (the ministry's collection)")
    func duplicateDetectorManyFiles() throws {
        var detector = DuplicateDetector()
        func key(_ gemeinde: Int, _ service: Int) throws -> RecordKey {
            RecordKey(region: try RegionKey("08" + String(100_000 + gemeinde)), service: try #require(OZGID(value: service)))
        }
        for gemeinde in 0..<1_000 {
            for service in 0..<3 {
                #expect(detector.insert(try key(gemeinde, 10000 + service), file: "\(gemeinde).xml", line: 10 + service) == nil)
            }
        }
        // Repeats of sorted keys, of the first, a middle and the last file.
        for gemeinde in [0, 600, 999] {
            let first = try #require(detector.insert(try key(gemeinde, 10001), file: "again.xml", line: 5))
            #expect(first.file == "\(gemeinde).xml")
            #expect(first.line == 11)
        }
        // A key out of order (kept aside) from a file beyond the 255th, then its repeat.
        #expect(detector.insert(try key(700, 10005), file: "late.xml", line: 7) == nil)
        let first = try #require(detector.insert(try key(700, 10005), file: "later.xml", line: 8))
        #expect(first.file == "late.xml")
        #expect(first.line == 7)
    }
}
