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
        #expect(result.issues.map(\.line) == [47, 69, 81])
        #expect(result.issues.allSatisfy { $0.column != nil })
        #expect(result.issues.first?.description
            == "\(path):47:32: status: 'fertig' is not a status: expected one of not_started, planned, in_progress, online, not_applicable")
        #expect(result.issues.first?.inputError == InputError(
            file: path, line: 47, field: "status",
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
            ("<ozgId>10000</ozgId>", "<ozgId>1000</ozgId>", "ozgId", "'1000' is not an OZG-ID: expected 5 digits"),
            (
                "<regionalschluessel>08115003</regionalschluessel>\n        <name>",
                "<regionalschluessel>0811500</regionalschluessel>\n        <name>", "regionalschluessel",
                "'0811500' is not a Regionalschlüssel: expected 2, 3, 5, 8 or 9 digits (Land, Bezirk, Kreis, Gemeinde, Verband)"
            ),
            ("<onlineSeit>2025-03-01</onlineSeit>", "<onlineSeit>01.03.2025</onlineSeit>", "onlineSeit", "'01.03.2025' is not a date: expected a real date written YYYY-MM-DD"),
            ("<onlineSeit>2025-03-01</onlineSeit>", "<onlineSeit>2025-02-30</onlineSeit>", "onlineSeit", "'2025-02-30' is not a date: expected a real date written YYYY-MM-DD"),
            ("<reifegrad modell=\"2\">6</reifegrad>", "<reifegrad modell=\"2\">9</reifegrad>", "reifegrad", "'9' is too large: expected at most 7 (expected a level 0-4 (model 1) or 0-7 (model 2))"),
            ("<reifegrad modell=\"2\">6</reifegrad>", "<reifegrad modell=\"3\">6</reifegrad>", "reifegrad/@modell", "'3' is not a maturity model: expected one of 1, 2"),
            ("<reifegrad modell=\"2\">6</reifegrad>", "<reifegrad>6</reifegrad>", "reifegrad", "the attribute modell is missing: expected it on this element"),
            ("<url>https://service.example/", "<url>ftp://service.example/", "url", "'ftp://service.example/elterngeld?ort=08115003&lang=de' is not a web address: expected an absolute http or https URL without spaces, at most 2048 characters"),
            ("<berichtseinheit>true</berichtseinheit>", "<berichtseinheit>ja</berichtseinheit>", "berichtseinheit", "'ja' is not a boolean: expected true or false"),
            ("<status>online</status>", "<status>Online</status>", "status", "'Online' is not a status: expected one of not_started, planned, in_progress, online, not_applicable"),
            ("<status>online</status>\n", "", "reifegrad", "unexpected element here: expected status"),
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
        let issues = try violation("<bereitgestelltDurch>08115</bereitgestelltDurch>", "<bereitgestelltDurch>\(key)</bereitgestelltDurch>")
        #expect(issues.isEmpty == valid, "\(key)")
    }

    @Test("violations before a well-formedness error are listed, then that error")
    func violationsThenFatal() throws {
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<status>online</status>", with: "<status>fertig</status>")
            .replacingOccurrences(of: "<eintraegeHoehererEbenen>0</eintraegeHoehererEbenen>", with: "<eintraegeHoehererEbenen>0</eintraege>")
        let issues = try XMLSchemaValidator().validate(string: text, name: "r.xml").issues
        #expect(issues.map(\.line) == [47, 133])
        #expect(issues.last?.message == "Opening and ending tag mismatch: eintraegeHoehererEbenen line 133 and eintraege: expected well-formed XML")
    }

    @Test("a document in another namespace is not an ozgtrack report")
    func otherNamespace() throws {
        let result = try XMLSchemaValidator().validate(string: "<umsetzungsbericht xmlns=\"urn:example\" version=\"1\"/>")
        #expect(result.issues.map(\.message) == ["is not the root of an ozgtrack report: expected umsetzungsbericht in the namespace urn:ozgtrack:umsetzungsbericht:1"])
    }

    @Test("lines of schema violations stay exact beyond line 65535")
    func bigLines() throws {
        let db = try XMLTestDatabase()
        try db.set("08115050", "10500", RecordUpdate(status: .online))
        let lines = try db.exportXML(try reproducible("08115")).components(separatedBy: "\n")
        let statusLine = try #require(lines.indices.first { lines[$0].contains("<status>online</status>") })
        #expect(statusLine + 1 > 65_535)
        var edited = lines
        edited[statusLine] = edited[statusLine].replacingOccurrences(of: "online", with: "live")
        let issues = try XMLSchemaValidator().validate(string: edited.joined(separator: "\n"), name: "big.xml").issues
        #expect(issues.map(\.line) == [statusLine + 1])
    }

    @Test("only the first issues are kept; all are counted")
    func limit() throws {
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<berichtseinheit>true</berichtseinheit>", with: "<berichtseinheit>yes</berichtseinheit>")
        let result = try XMLSchemaValidator(issueLimit: 2).validate(string: text)
        #expect(result.issues.count == 2)
        #expect(result.total == 3)
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
        // Every element declaration has its documentation (a declaration without one is followed by its type).
        let declarations = text.components(separatedBy: "<xs:element ").dropFirst()
        let undocumented = declarations.filter { declaration in
            !(declaration.hasPrefix("name=\"eintrag\"") || declaration.hasPrefix("name=\"kopf\"") || declaration.hasPrefix("name=\"eintraege\"")
                || declaration.hasPrefix("name=\"auswertung\"") || declaration.hasPrefix("name=\"erzeuger\"")
                || declaration.hasPrefix("name=\"bereich\"") || declaration.hasPrefix("name=\"filter\"")
                || declaration.hasPrefix("name=\"region\"") || declaration.hasPrefix("name=\"leistung\"")
                || declaration.hasPrefix("name=\"reifegrad\"") || declaration.hasPrefix("name=\"reifegradverteilung\"")
                || declaration.hasPrefix("name=\"abdeckung\"") || declaration.hasPrefix("name=\"status\" type=\"Status\""))
                && !declaration.prefix(400).contains("<xs:documentation>")
        }
        #expect(undocumented.map { String($0.prefix(60)) } == [])
        #expect(text.contains("\"eigene\" zählt die\n        eigenen Einträge einer Einheit; \"einschliesslichHoehererEbene\" zählt zusätzlich eine Leistung, die eine\n        Einheit darüber"))
    }
}
