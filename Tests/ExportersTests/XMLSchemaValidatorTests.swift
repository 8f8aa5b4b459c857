import Exporters
import Foundation
import OZGCore
import Testing

@Suite("XML validation: ozgtrack validate FILE")
struct XMLSchemaValidatorTests {
    @Test("a report as ozgtrack writes it is valid")
    func valid() throws {
        let result = try XMLSchemaValidator().validate(file: fixture("gemeinde-report.xml"))
        #expect(result.isValid)
        #expect(result.issues == [])
        #expect(result.file == fixture("gemeinde-report.xml"))
    }

    @Test("every violation is returned, with line and column, in the FILE:LINE:COLUMN form editors link to")
    func issues() throws {
        let path = fixture("schema-violations.xml")
        let result = try XMLSchemaValidator().validate(file: path)
        #expect(!result.isValid)
        #expect(result.total == 3)
        #expect(result.issues.map(\.line) == [39, 41, 45])
        #expect(result.issues.allSatisfy { $0.column != nil })
        #expect(result.issues.first?.description
            == "\(path):39:234: eintrag/@status: 'fertig' is not a status: expected one of not_started, planned, in_progress, online, not_applicable")
        #expect(result.issues.first?.inputError == InputError(
            file: path, line: 39, field: "eintrag/@status",
            message: "'fertig' is not a status: expected one of not_started, planned, in_progress, online, not_applicable"))
    }

    /// Replaces the first occurrence of `old` in the fixture report with `new` and validates the result.
    private func violation(_ old: String, _ new: String) throws -> [XMLValidationIssue] {
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
        let range = try #require(text.range(of: old))
        return try XMLSchemaValidator().validate(string: text.replacingCharacters(in: range, with: new), name: "r.xml").issues
    }

    @Test(
        "each kind of violation is named in words",
        arguments: [
            ("<eintrag ozgId=\"10000\"", "<eintrag ozgId=\"1000\"", "eintrag/@ozgId", "'1000' is not an OZG-ID: expected 5 digits"),
            (
                "<einheit regionalschluessel=\"08115003\"", "<einheit regionalschluessel=\"0811500\"", "einheit/@regionalschluessel",
                "'0811500' is not a Regionalschlüssel: expected 2, 3, 5, 8 or 9 digits (Land, Bezirk, Kreis, Gemeinde, Verband)"
            ),
            ("onlineSeit=\"2025-03-01\"", "onlineSeit=\"01.03.2025\"", "eintrag/@onlineSeit", "'01.03.2025' is not a date: expected a real date written YYYY-MM-DD"),
            ("onlineSeit=\"2025-03-01\"", "onlineSeit=\"2025-02-30\"", "eintrag/@onlineSeit", "'2025-02-30' is not a date: expected a real date written YYYY-MM-DD"),
            ("reifegrad=\"6\"", "reifegrad=\"9\"", "eintrag/@reifegrad", "'9' is too large: expected at most 7 (expected a level 0-4 (model 1) or 0-7 (model 2))"),
            ("modell=\"2\"", "modell=\"3\"", "eintrag/@modell", "'3' is not a maturity model: expected one of 1, 2"),
            ("<url>https://service.example/", "<url>ftp://service.example/", "url", "'ftp://service.example/elterngeld?ort=08115003&lang=de' is not a web address: expected an absolute http or https URL without spaces, at most 2048 characters"),
            ("berichtseinheit=\"true\"", "berichtseinheit=\"ja\"", "einheit/@berichtseinheit", "'ja' is not a boolean: expected true or false"),
            ("onlineEinschliesslichHoehererEbene=\"true\" aktualisiertAm", "onlineEinschliesslichHoehererEbene=\"vielleicht\" aktualisiertAm", "eintrag/@onlineEinschliesslichHoehererEbene", "'vielleicht' is not a boolean: expected true or false"),
            ("status=\"online\"", "status=\"Online\"", "eintrag/@status", "'Online' is not a status: expected one of not_started, planned, in_progress, online, not_applicable"),
            ("aktualisiertAm=\"2025-03-01T09:30:00Z\"", "aktualisiertAm=\"gestern\"", "eintrag/@aktualisiertAm", "'gestern' is not a time: expected an ISO 8601 time such as 2025-06-30T12:00:00Z"),
            ("<eintrag ozgId=\"10002\" status=\"planned\"/>", "<eintrag status=\"planned\"/>", "eintrag", "the attribute ozgId is missing: expected it on this element"),
            ("<eintrag ozgId=\"10002\" status=\"planned\"/>", "<eintrag ozgId=\"10002\" status=\"planned\" stand=\"2025\"/>", "eintrag/@stand", "the attribute stand is not allowed here: expected none of that name"),
            ("<eintrag ozgId=\"10002\" status=\"planned\"/>", "<eintrag ozgId=\"10002\"><umsetzung/></eintrag>", "umsetzung", "unexpected element here: expected one of url, loesung, notiz"),
            ("<leistung ozgId=\"10002\" bezeichnung=\"Familienversicherung\" themenfeld=\"6\"/>", "<leistung ozgId=\"10002\" bezeichnung=\"Familienversicherung\" themenfeld=\"sechs\"/>", "leistung/@themenfeld", "'sechs' is not a Themenfeld number: expected a whole number"),
            (
                "<leistungen>\n      <leistung ozgId=\"10000\" bezeichnung=\"Elterngeld\" themenfeld=\"6\"/>\n      <leistung ozgId=\"10001\" bezeichnung=\"Erklärung zur Vaterschafts-/Mutterschaftsanerkennung\" themenfeld=\"6\"/>\n      <leistung ozgId=\"10002\" bezeichnung=\"Familienversicherung\" themenfeld=\"6\"/>\n    </leistungen>",
                "<leistungen>3</leistungen>", "leistungen", "text is not allowed here: expected only child elements"
            ),
            ("<umsetzungsbericht version=\"1\"", "<umsetzungsbericht version=\"2\"", "umsetzungsbericht/@version", "'2' is not allowed: expected 1"),
            ("<erstelltAm>2025-11-24T16:00:00Z</erstelltAm>", "<erstelltAm>heute</erstelltAm>", "erstelltAm", "'heute' is not a time: expected an ISO 8601 time such as 2025-06-30T12:00:00Z"),
            ("<onlineEigene anteil=\"33.3\">", "<onlineEigene anteil=\"33.33\">", "onlineEigene/@anteil", "'33.33' has too many decimals: expected a percentage 0-100 with at most one decimal"),
            ("<loesung>EfA \"Elterngeld digital\"</loesung>", "<loesung>\(String(repeating: "x", count: 501))</loesung>", "loesung", "the text is 501 characters long: expected at most 500"),
            ("<leistungen>3</leistungen>", "<leistungen>-1</leistungen>", "leistungen", "'-1' is not a count: expected a whole number, 0 or more"),
            ("<name>Böblingen, Stadt</name>", "<name>Böblingen, <b>Stadt</b></name>", "name", "child elements are not allowed here: expected text only"),
        ])
    func wording(_ old: String, _ new: String, _ field: String, _ message: String) throws {
        let issues = try violation(old, new)
        #expect(issues.count == 1)
        #expect(issues.first?.field == field)
        #expect(issues.first?.message == message)
        #expect(issues.first?.line != nil)
    }

    @Test(
        "a Regionalschlüssel has 2, 3, 5, 8 or 9 digits",
        arguments: [
            ("08", true), ("081", true), ("08115", true), ("08115003", true), ("033525404", true), ("0", false), ("0811", false),
            ("081150", false), ("0811500", false), ("0811500300", false), ("081150030000", false), ("08115a03", false), ("٠٨", false),
        ])
    func regionKeyLengths(_ key: String, _ valid: Bool) throws {
        let issues = try violation("bereitgestelltDurch=\"08115\"", "bereitgestelltDurch=\"\(key)\"")
        #expect(issues.isEmpty == valid, "\(key)")
    }

    @Test("violations before a well-formedness error are listed, then that error")
    func violationsThenFatal() throws {
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "status=\"online\"", with: "status=\"fertig\"")
            .replacingOccurrences(of: "<eintraegeHoehererEbenen>0</eintraegeHoehererEbenen>", with: "<eintraegeHoehererEbenen>0</eintraege>")
        let issues = try XMLSchemaValidator().validate(string: text, name: "r.xml").issues
        #expect(issues.map(\.line) == [39, 88])
        #expect(issues.last?.message == "Opening and ending tag mismatch: eintraegeHoehererEbenen line 88 and eintraege: expected well-formed XML")
    }

    @Test("a document in another namespace is not an ozgtrack report")
    func otherNamespace() throws {
        let result = try XMLSchemaValidator().validate(string: "<umsetzungsbericht xmlns=\"urn:example\" version=\"1\"/>")
        #expect(result.issues.map(\.message) == ["is not the root of an ozgtrack report: expected umsetzungsbericht in the namespace urn:ozgtrack:umsetzungsbericht:1"])
    }

    @Test("lines of schema violations stay exact beyond line 65535")
    func bigLines() throws {
        let db = try XMLTestDatabase()
        try db.set("08115050", "10500", RecordUpdate(status: .online, note: "eins\nzwei\ndrei"))
        try db.set("08115050", "10501", RecordUpdate(status: .online))
        let xml = try db.exportXML(try reproducible("08115"))
            .replacingOccurrences(of: "<eintraege>\n", with: "<eintraege>\n" + String(repeating: "\n", count: 70_000))
        let lines = xml.components(separatedBy: "\n")
        let statusLine = try #require(lines.indices.first { lines[$0].contains("<eintrag ozgId=\"10501\" status=\"online\"") })
        #expect(statusLine + 1 > 65_535)
        var edited = lines
        edited[statusLine] = edited[statusLine].replacingOccurrences(of: "\"online\"", with: "\"live\"")
        let issues = try XMLSchemaValidator().validate(string: edited.joined(separator: "\n"), name: "big.xml").issues
        #expect(issues.map(\.line) == [statusLine + 1])
    }

    @Test("only the first issues are kept; all are counted")
    func limit() throws {
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "themenfeld=\"6\"", with: "themenfeld=\"sechs\"")
        let result = try XMLSchemaValidator(issueLimit: 2).validate(string: text)
        #expect(result.issues.count == 2)
        #expect(result.total == 4)  // three services in the header, one in the coverage
    }

    @Test("the schema text is the embedded XSD, in its namespace, and documents every element")
    func schemaText() throws {
        let text = XMLReportSchema.text
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"))
        #expect(text.contains("targetNamespace=\"urn:ozgtrack:umsetzungsbericht:1\""))
        #expect(text.contains("elementFormDefault=\"qualified\""))
        #expect(XMLReportSchema.namespace == "urn:ozgtrack:umsetzungsbericht:1")
        #expect(XMLReportSchema.fileName == "ozgtrack-report-1.xsd")
        let onDisk = try String(
            contentsOf: packageRoot.appendingPathComponent("Sources/Exporters/XML/ozgtrack-report-1.xsd"), encoding: .utf8)
        #expect(text == onDisk.trimmingCharacters(in: .newlines))
        // Every element and attribute declaration has its documentation; the elements without one of their own
        // are documented by their type.
        let byType = ["kopf", "eintraege", "erzeuger", "bereich", "filter", "reifegradverteilung", "abdeckung"]
        let declarations = text.components(separatedBy: "<xs:element ").dropFirst().map { ("element", $0) }
            + text.components(separatedBy: "<xs:attribute ").dropFirst().map { ("attribute", $0) }
        let undocumented = declarations.filter { kind, declaration in
            !(kind == "element" && byType.contains { declaration.hasPrefix("name=\"\($0)\" type=") })
                && !declaration.prefix(400).contains("<xs:documentation>")
        }.map(\.1)
        #expect(undocumented.map { String($0.prefix(60)) } == [])
        #expect(text.contains("\"eigene\" zählt die\n        eigenen Einträge einer Einheit; \"einschliesslichHoehererEbene\" zählt zusätzlich eine Leistung, die eine\n        Einheit darüber"))
    }
}
