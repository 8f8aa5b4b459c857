import Exporters
import Foundation
import OZGCore
import Testing

@Suite("XML import: what XMLRecordSource reads from a report")
struct XMLRecordSourceTests {
    @Test("every entry with a status becomes a row with its unit's key and its values; untracked entries and provenance are passed over")
    func rows() throws {
        let path = fixture("gemeinde-report.xml")
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(errors == [])
        #expect(rows.count == 2)
        let first = try #require(rows.first)
        #expect(first.file == path)
        #expect(first.line == 39)  // the eintrag
        #expect(first.key == RecordKey(region: try RegionKey("08115003"), service: try OZGID("10000")))
        #expect(first.update.status == .online)
        #expect(first.update.maturity == 6)
        #expect(first.update.maturityModel == .v2)
        #expect(first.update.planned == ISODate("2025-01-31"))
        #expect(first.update.onlineSince == ISODate("2025-03-01"))
        #expect(first.update.url == "https://service.example/elterngeld?ort=08115003&lang=de")
        #expect(first.update.solution == "EfA \"Elterngeld digital\"")
        #expect(first.update.note == "Zeile 1\r\nZeile 2 mit <Tag> & ]]>\tTab")
        #expect(first.update.clear == [])
        let last = try #require(rows.last)
        #expect(last.line == 46)
        #expect(last.key.service == (try OZGID("10002")))
        #expect(last.update.status == .planned)
    }

    @Test("a missing optional element clears the stored value by default, or keeps it when asked")
    func absentValues() throws {
        let path = fixture("gemeinde-report.xml")
        let cleared = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).rows
        #expect(cleared.last?.update.clear == [.maturity, .planned, .onlineSince, .url, .solution, .note])
        let kept = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn), absentValues: .kept)).rows
        #expect(kept.last?.update.clear == [])

        let db = try XMLTestDatabase()
        try db.set("08115003", "10002", RecordUpdate(status: .inProgress, url: "https://old.example/", note: "old note"))
        _ = try db.importXML([path])
        let record = try #require(try db.record("08115003", "10002"))
        #expect(record.values == RecordValues(status: .planned))
        #expect(record.updatedBy == "ministry")
        #expect(record.source == "report.xml")
    }

    @Test("unknown regions and OZG-IDs give the CSV import's messages, with file, line and element")
    func unknownKeys() throws {
        let path = fixture("unknown-keys.xml")
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(rows.isEmpty)
        #expect(errors.count == 2)
        #expect(errors.map(\.file) == [path, path])
        #expect(errors.map(\.line) == [38, 48])  // the einheit, the eintrag
        #expect(errors.map(\.field) == ["einheit/@regionalschluessel", "eintrag/@ozgId"])

        // The same values in a CSV import give the same messages.
        let db = try XMLTestDatabase()
        let csv = try db.file("same.csv", "region,ozg_id,status\n08115999,10000,online\n08115003,99999,planned\n")
        let csvErrors = try readAll(CSVRecordSource(path: csv, validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors.map(\.message) == csvErrors.map(\.message))
        #expect(errors.first?.message.hasPrefix("'08115999' is not in the territory edition") == true)
        #expect(errors.last?.message.hasPrefix("'99999' is not in the OZG catalogue") == true)
    }

    @Test("with --skip-unknown, unknown keys are skipped and listed as warnings with file and line")
    func skipUnknown() throws {
        let path = fixture("unknown-keys.xml")
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: true)
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: validator))
        #expect(rows.isEmpty && errors.isEmpty)
        #expect(validator.warnings == [
            "\(path):39: region '08115999' is not in the registry: skipped",
            "\(path):48: OZG-ID '99999' is not in the catalogue: skipped",
        ])
    }

    /// The fixture report with the first occurrence of each `old` replaced by its `new`, as a file in `db`'s
    /// directory.
    private func edited(_ db: XMLTestDatabase, _ replacements: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
        for (old, new) in replacements {
            let range = try #require(text.range(of: old), "\(old)")
            text.replaceSubrange(range, with: new)
        }
        return try db.file("edited.xml", text)
    }

    @Test("a Reifegrad outside its model is refused at the eintrag's line")
    func maturityOutOfModel() throws {
        let db = try XMLTestDatabase()
        let path = try edited(db, [("reifegrad=\"6\" modell=\"2\"", "reifegrad=\"6\" modell=\"1\"")])
        let errors = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors == [
            InputError(file: path, line: 39, field: "eintrag/@reifegrad", message: "'6' is out of range for maturity model 1: expected 0-4")
        ])
    }

    @Test("reifegrad and modell come as a pair")
    func maturityPair() throws {
        let db = try XMLTestDatabase()
        let withoutModel = try edited(db, [(" modell=\"2\"", "")])
        #expect(try readAll(XMLRecordSource(path: withoutModel, validator: RecordValidator(catalogue: builtIn))).errors == [
            InputError(
                file: withoutModel, line: 39, field: "eintrag/@modell",
                message: "is missing next to reifegrad: expected modell 1 or 2 with every reifegrad")
        ])
        let withoutLevel = try edited(db, [(" reifegrad=\"6\"", "")])
        #expect(try readAll(XMLRecordSource(path: withoutLevel, validator: RecordValidator(catalogue: builtIn))).errors == [
            InputError(
                file: withoutLevel, line: 39, field: "eintrag/@reifegrad",
                message: "is missing next to modell '2': expected a reifegrad with every modell")
        ])
    }

    @Test("an entry without a status that carries values is refused rather than passed over with them")
    func valuesWithoutStatus() throws {
        let db = try XMLTestDatabase()
        let attribute = try edited(db, [("<eintrag ozgId=\"10001\"", "<eintrag ozgId=\"10001\" geplantZum=\"2026-01-01\"")])
        #expect(try readAll(XMLRecordSource(path: attribute, validator: RecordValidator(catalogue: builtIn))).errors == [
            InputError(
                file: attribute, line: 45, field: "eintrag/@status",
                message: "is missing on an entry with values (eintrag/@geplantZum): expected a status, or no values on an untracked entry")
        ])
        let element = try edited(db, [(
            "bereitgestelltDurch=\"08115\"/>", "bereitgestelltDurch=\"08115\">\n        <notiz>Wer macht das?</notiz>\n      </eintrag>"
        )])
        #expect(try readAll(XMLRecordSource(path: element, validator: RecordValidator(catalogue: builtIn))).errors.map(\.field) == [
            "eintrag/@status"
        ])
    }

    @Test("an unknown unit is reported once, at its einheit, however many of its entries are tracked")
    func unknownUnitOnce() throws {
        let db = try XMLTestDatabase()
        let path = try edited(db, [
            ("regionalschluessel=\"08115003\" name", "regionalschluessel=\"08115999\" name"),
            ("<eintrag ozgId=\"10001\" onlineEinschliesslichHoehererEbene=\"true\" bereitgestelltDurch=\"08115\"/>", "<eintrag ozgId=\"10001\" status=\"online\"/>"),
        ])
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(rows.isEmpty)
        #expect(errors.map(\.line) == [38])
        #expect(errors.map(\.field) == ["einheit/@regionalschluessel"])
        let skipping = RecordValidator(catalogue: builtIn, skipUnknown: true)
        #expect(try readAll(XMLRecordSource(path: path, validator: skipping)).rows.isEmpty)
        #expect(skipping.skippedCount == 3)  // every tracked entry of the unit, each named at its line
        #expect(skipping.warnings.map { $0.split(separator: ":")[1] } == ["39", "45", "46"])
    }

    /// (libxml2 2.9 does not collapse white space in a value of a restricted xs:int with bounds, such as
    /// `reifegrad`, and reports it as a schema violation. ozgtrack never writes any.)
    @Test("white space the schema allows around dates and the model is accepted; CDATA reads as text")
    func whiteSpace() throws {
        let db = try XMLTestDatabase()
        let path = try edited(db, [
            ("reifegrad=\"6\" modell=\"2\"", "reifegrad=\"6\" modell=\" 2 \""),
            ("onlineSeit=\"2025-03-01\"", "onlineSeit=\" 2025-03-01&#10;\""),
            ("<loesung>EfA \"Elterngeld digital\"</loesung>", "<loesung><![CDATA[EfA <\"Elterngeld\"> & ]]>digital</loesung>"),
        ])
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(errors == [])
        #expect(rows.first?.update.maturity == 6)
        #expect(rows.first?.update.maturityModel == .v2)
        #expect(rows.first?.update.onlineSince == ISODate("2025-03-01"))
        #expect(rows.first?.update.solution == "EfA <\"Elterngeld\"> & digital")
    }

    @Test("an import of a file with a bad row writes nothing and lists every bad row")
    func atomic() throws {
        let db = try XMLTestDatabase()
        let error = #expect(throws: InputErrors.self) { try db.importXML([fixture("unknown-keys.xml")]) }
        #expect(error?.total == 2)
        #expect(try db.record("08115003", "10002") == nil)
    }

    /// A Kreis report, pushed past line 65535 (where libxml2 stops counting element lines) by blank lines
    /// after `<eintraege>` (white space between elements is allowed), as a list of lines.
    private func bigReport(_ db: XMLTestDatabase) throws -> [String] {
        try db.set("08115050", "10500", RecordUpdate(status: .online, url: "https://example.org/x", note: "eins\nzwei"))
        try db.set("08115050", "10501", RecordUpdate(status: .planned, solution: "Portal"))
        let xml = try db.exportXML(try reproducible("08115"))
        return xml.replacingOccurrences(of: "<eintraege>\n", with: "<eintraege>\n" + String(repeating: "\n", count: 70_000))
            .components(separatedBy: "\n")
    }

    @Test("lines stay exact beyond line 65535, for einheit, eintrag and text elements")
    func bigLines() throws {
        let db = try XMLTestDatabase()
        let lines = try bigReport(db)
        let unitLine = try #require(lines.firstIndex { $0.contains("<einheit regionalschluessel=\"08115050\"") })
        let entryLine = try #require(lines.firstIndex { $0.contains("<eintrag ozgId=\"10501\" status=") })
        let solutionLine = try #require(lines.firstIndex { $0 == "        <loesung>Portal</loesung>" })
        #expect(unitLine + 1 > 65_535)
        func errors(_ line: Int, _ old: String, _ new: String) throws -> [InputError] {
            var edited = lines
            edited[line] = edited[line].replacingOccurrences(of: old, with: new)
            let path = try db.file("big.xml", edited.joined(separator: "\n"))
            return try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).errors
        }
        // A schema violation in an attribute: 2025-02-29 is no date.
        let schema = try errors(entryLine, "status=\"planned\"", "status=\"planned\" geplantZum=\"2025-02-29\"")
        #expect(schema.map(\.line) == [entryLine + 1])
        #expect(schema.map(\.field) == ["eintrag/@geplantZum"])
        // A value the record validator refuses in a text element: a solution is one line.
        let text = try errors(solutionLine, "Portal", "Por&#10;tal")
        #expect(text.map(\.line) == [solutionLine + 1])
        #expect(text.map(\.field) == ["loesung"])
        // An unknown unit key.
        let unit = try errors(unitLine, "08115050", "08115999")
        #expect(unit.map(\.line) == [unitLine + 1])
        #expect(unit.map(\.field) == ["einheit/@regionalschluessel"])
    }

    @Test("an element line is the line where its start tag begins, also for a tag over several lines")
    func multiLineTags() throws {
        let db = try XMLTestDatabase()
        let path = try edited(db, [
            ("<eintrag ozgId=\"10002\" status=\"planned\"/>", "<eintrag\n        ozgId=\"99999\"\n        status=\"planned\"/>")
        ])
        let errors = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors.map(\.line) == [46])
        #expect(errors.map(\.field) == ["eintrag/@ozgId"])
    }

    @Test("a file that does not exist or is a directory is refused with its name")
    func unreadable() throws {
        let missing = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: "/nonexistent/report.xml", validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(missing?.description == "/nonexistent/report.xml: does not exist: expected a readable file")
        let directory = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: NSTemporaryDirectory(), validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(directory?.message == "is a directory: expected a file")
    }
}
