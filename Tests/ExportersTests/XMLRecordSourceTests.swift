import Exporters
import Foundation
import OZGCore
import Testing

@Suite("XML import: what XMLRecordSource reads from a report")
struct XMLRecordSourceTests {
    @Test("every entry with an umsetzung becomes a row with its values; untracked entries and provenance are passed over")
    func rows() throws {
        let path = fixture("gemeinde-report.xml")
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(errors == [])
        #expect(rows.count == 2)
        let first = try #require(rows.first)
        #expect(first.file == path)
        #expect(first.line == 36)  // the entry's regionalschluessel
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
        #expect(last.line == 78)
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
        #expect(errors.map(\.line) == [36, 84])
        #expect(errors.map(\.field) == ["regionalschluessel", "ozgId"])

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
            "\(path):36: region '08115999' is not in the registry: skipped",
            "\(path):78: OZG-ID '99999' is not in the catalogue: skipped",
        ])
    }

    @Test("a Reifegrad outside its model is refused at the reifegrad element's line")
    func maturityOutOfModel() throws {
        let db = try XMLTestDatabase()
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<reifegrad modell=\"2\">6</reifegrad>", with: "<reifegrad modell=\"1\">6</reifegrad>")
        let path = try db.file("maturity.xml", text)
        let errors = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors == [
            InputError(file: path, line: 48, field: "reifegrad", message: "'6' is out of range for maturity model 1: expected 0-4")
        ])
    }

    /// (libxml2 2.9 does not collapse white space in the Reifegrad's value itself, which has an attribute; it
    /// reports it as a schema violation. ozgtrack never writes any.)
    @Test("white space the schema allows around dates and the model is accepted; CDATA reads as text")
    func whiteSpace() throws {
        let db = try XMLTestDatabase()
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<reifegrad modell=\"2\">6</reifegrad>", with: "<reifegrad modell=\" 2 \">6</reifegrad>")
            .replacingOccurrences(of: "<onlineSeit>2025-03-01</onlineSeit>", with: "<onlineSeit> 2025-03-01\n</onlineSeit>")
            .replacingOccurrences(of: "<loesung>EfA \"Elterngeld digital\"</loesung>", with: "<loesung><![CDATA[EfA <\"Elterngeld\"> & ]]>digital</loesung>")
        let path = try db.file("spaces.xml", text)
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

    @Test("lines stay exact beyond line 65535, where libxml2 stops counting element lines")
    func bigLines() throws {
        let db = try XMLTestDatabase()
        try db.set("08115050", "10500", RecordUpdate(status: .online))
        var xml = try db.exportXML(try reproducible("08115"))
        // Make the record's key unknown, then find the line it is on.
        let marker = "<regionalschluessel>08115050</regionalschluessel>"
        let lines = xml.components(separatedBy: "\n")
        let umsetzungLine = try #require(lines.indices.first { lines[$0].contains("<umsetzung>") })
        let keyLine = try #require((0..<umsetzungLine).last { lines[$0].contains(marker) })
        #expect(keyLine + 1 > 65_535)
        var edited = lines
        edited[keyLine] = edited[keyLine].replacingOccurrences(of: "08115050", with: "08115999")
        xml = edited.joined(separator: "\n")
        let path = try db.file("big.xml", xml)
        let errors = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors.map(\.line) == [keyLine + 1])
        #expect(errors.first?.field == "regionalschluessel")
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
