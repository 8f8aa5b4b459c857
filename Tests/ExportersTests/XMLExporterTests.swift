import Foundation
import OZGCore
import Testing

@testable import Exporters

@Suite("XML export: what the exporter writes")
struct XMLExporterTests {
    /// The scopes and options every export must validate in.
    static let scenarios: [(name: String, scope: String?, asOf: Date?, provenance: Bool, statuses: Set<RowStatus>?, filter: ServiceFilter)] = [
        ("one Gemeinde", "08115003", nil, true, nil, ServiceFilter()),
        ("one Gemeinde without provenance", "08115003", nil, false, nil, ServiceFilter()),
        ("a Kreis with records of the Kreis and the Land above", "08115", nil, true, nil, ServiceFilter()),
        ("a Land (Bremen)", "04", nil, true, nil, ServiceFilter()),
        ("a Samtgemeinde with its members", "033525404", nil, true, nil, ServiceFilter()),
        ("as of a past day", "08115", Date(timeIntervalSince1970: 1_739_000_000), true, nil, ServiceFilter()),
        ("as of a day after the records", "08115003", Date(timeIntervalSince1970: 1_750_000_000), false, nil, ServiceFilter()),
        ("a status filter", "08115", nil, false, [.recorded(.online), .untracked], ServiceFilter()),
        ("a Themenfeld, municipal services only", "08115", nil, true, nil, ServiceFilter(themenfeld: 6, municipalOnly: true)),
    ]

    @Test("every export validates against the embedded schema", arguments: scenarios.indices)
    func validates(_ index: Int) throws {
        let scenario = Self.scenarios[index]
        let db = try XMLTestDatabase()
        try populate(db)
        let query = try reproducible(
            scenario.scope, asOf: scenario.asOf, filter: scenario.filter, statuses: scenario.statuses, provenance: scenario.provenance)
        let xml = try db.exportXML(query)
        let result = try XMLSchemaValidator().validate(string: xml, name: scenario.name)
        #expect(result.issues == [], "\(scenario.name)")
        #expect(result.isValid)
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<umsetzungsbericht version=\"1\" xmlns=\"urn:ozgtrack:umsetzungsbericht:1\">"))
        #expect((xml.contains("<stichtag>")) == (scenario.asOf != nil))
        #expect(xml.contains("<herkunftEnthalten>\(scenario.provenance)</herkunftEnthalten>"))
        let tracked = occurrences(of: " status=\"", in: xml)
        #expect(occurrences(of: " aktualisiertVon=\"", in: xml) == (scenario.provenance ? tracked : 0))
    }

    @Test("every einheit and eintrag starts on a line of its own, indented; text elements too", arguments: scenarios.indices)
    func layout(_ index: Int) throws {
        let scenario = Self.scenarios[index]
        let db = try XMLTestDatabase()
        try populate(db)
        let xml = try db.exportXML(
            try reproducible(
                scenario.scope, asOf: scenario.asOf, filter: scenario.filter, statuses: scenario.statuses,
                provenance: scenario.provenance))
        let lines = xml.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: "  <eintraege>"))
        let end = try #require(lines.firstIndex(of: "  </eintraege>"))
        var inNote = false
        for line in lines[(start + 1)..<end] {
            if inNote {
                inNote = !line.hasSuffix("</notiz>")
                continue
            }
            let known = ["    <einheit ", "    </einheit>", "      <eintrag ", "      </eintrag>", "        <url>", "        <loesung>", "        <notiz>"]
            #expect(known.contains { line.hasPrefix($0) }, "\(scenario.name): \(line)")
            inNote = line.hasPrefix("        <notiz>") && !line.hasSuffix("</notiz>")
        }
        #expect(occurrences(of: "<eintrag ", in: xml) == lines.filter { $0.hasPrefix("      <eintrag ") }.count)
    }

    @Test("an empty database gives one einheit per reporting unit with one entry per service, none with a status")
    func emptyDatabase() throws {
        let db = try XMLTestDatabase()
        let xml = try db.exportXML(try reproducible("08115"))
        #expect(try XMLSchemaValidator().validate(string: xml).isValid)
        let services = builtIn.services.services.count
        #expect(occurrences(of: "<einheit ", in: xml) == 26)
        #expect(occurrences(of: "<eintrag ", in: xml) == 26 * services)
        #expect(occurrences(of: " status=\"", in: xml) == 0)
        #expect(occurrences(of: "onlineEinschliesslichHoehererEbene=", in: xml) == 0)
        #expect(xml.contains("<berichtseinheiten>26</berichtseinheiten>"))
        #expect(xml.contains("    <einheit regionalschluessel=\"08115001\" name=\"Aidlingen\" ebene=\"gemeinde\" berichtseinheit=\"true\">\n      <eintrag ozgId=\"10000\"/>\n"))
        // The services are listed once, in the header.
        #expect(occurrences(of: "bezeichnung=\"Elterngeld\"", in: xml) == 2)  // kopf and abdeckung
    }

    @Test("the header names the generator, creation time, editions, scope, filter and counting rule")
    func header() throws {
        let db = try XMLTestDatabase()
        let asOf = Date(timeIntervalSince1970: 1_750_000_000)
        let xml = try db.exportXML(
            try reproducible("08115003", asOf: asOf, filter: ServiceFilter(themenfeld: 6), statuses: [.untracked, .recorded(.online)]))
        #expect(xml.contains("<erzeuger name=\"ozgtrack\" version=\"\(Generator.version)\"/>"))
        #expect(xml.contains("<erstelltAm>2025-11-24T16:00:00Z</erstelltAm>"))
        #expect(xml.contains("<stichtag>2025-06-15T15:06:40Z</stichtag>"))
        #expect(xml.contains("<stand>\(builtIn.services.edition.date)</stand>"))
        #expect(xml.contains("<stand>\(builtIn.regions.edition.date)</stand>"))
        #expect(xml.contains("<bereich>\n      <regionalschluessel>08115003</regionalschluessel>\n      <name>Böblingen, Stadt</name>\n      <ebene>gemeinde</ebene>"))
        #expect(xml.contains("<themenfeld>6</themenfeld>\n      <nurKommunal>false</nurKommunal>\n      <status>online</status>\n      <status>untracked</status>"))
        let themenfeld6 = builtIn.services.services.filter { $0.themenfeld == 6 }
        #expect(xml.contains("<herkunftEnthalten>false</herkunftEnthalten>\n    <berichtseinheiten>1</berichtseinheiten>\n    <leistungen>\n      <leistung ozgId=\"10000\" bezeichnung=\"Elterngeld\" themenfeld=\"6\"/>\n"))
        #expect(occurrences(of: "<leistung ozgId=", in: xml) == 2 * themenfeld6.count)  // kopf and abdeckung
        #expect(xml.contains("</leistungen>\n    <zaehlweise>"))
        #expect(xml.contains("&quot;own&quot; counts a unit's own records"))
        let national = try db.exportXML(try reproducible("04"))
        #expect(national.contains("<bereich>\n      <regionalschluessel>04</regionalschluessel>"))
    }

    @Test("a Kreis report lists the Kreis's own records as non-reporting rows and names it where it provides a service")
    func higherLevels() throws {
        let db = try XMLTestDatabase()
        try populate(db)
        let xml = try db.exportXML(try reproducible("08115"))
        #expect(xml.contains(
            "    <einheit regionalschluessel=\"08115\" name=\"Böblingen\" ebene=\"kreis\" berichtseinheit=\"false\">\n"
                + "      <eintrag ozgId=\"10005\" status=\"online\" onlineEinschliesslichHoehererEbene=\"true\">\n"
                + "        <loesung>Kreisportal</loesung>\n      </eintrag>\n"
                + "      <eintrag ozgId=\"10006\" status=\"planned\"/>\n    </einheit>\n"))
        // 10005 is online at the Kreis: every one of its 26 Gemeinden gets it through the Kreis; 10007 through the Land.
        #expect(occurrences(of: "<eintrag ozgId=\"10005\" onlineEinschliesslichHoehererEbene=\"true\" bereitgestelltDurch=\"08115\"/>", in: xml) == 26)
        #expect(occurrences(of: "bereitgestelltDurch=\"08\"", in: xml) == 26)
        #expect(xml.contains("<eintraegeHoehererEbenen>2</eintraegeHoehererEbenen>"))
        #expect(xml.contains("<leistung ozgId=\"10005\" bezeichnung="))
    }

    @Test("the aggregates are those of the report's own pass")
    func aggregates() throws {
        let db = try XMLTestDatabase()
        try populate(db)
        let query = try reproducible("08115003")
        let xml = try db.exportXML(query)
        let summary = try Report.with(query, catalogue: builtIn, store: db.store) { try $0.summary() }
        let overall = summary.overall
        #expect(xml.contains("<gesamt>\n      <leistungen>\(overall.services)</leistungen>\n      <erfasst>5</erfasst>"))
        #expect(xml.contains("<online>1</online>\n      <nichtZustaendig>1</nichtZustaendig>\n      <relevant>\(overall.relevant)</relevant>"))
        #expect(xml.contains("<onlineEigene anteil=\"\(XMLReportBody.decimal(overall.shareOnline))\">1</onlineEigene>"))
        #expect(xml.contains("<onlineEinschliesslichHoehererEbene anteil=\"\(XMLReportBody.decimal(overall.shareOnlineIncludingHigherLevel))\">3</onlineEinschliesslichHoehererEbene>"))
        #expect(xml.contains("<stufe modell=\"1\" wert=\"0\" anzahl=\"1\"/>\n      <stufe modell=\"1\" wert=\"3\" anzahl=\"1\"/>\n      <stufe modell=\"2\" wert=\"6\" anzahl=\"1\"/>"))
        #expect(xml.contains("<eigene anzahl=\"1\" anteil=\"100.0\" klasse=\"flaechendeckend\"/>"))
    }

    @Test("shares are written with one decimal, never in exponent notation", arguments: [
        (0.0, "0.0"), (100.0, "100.0"), (33.3, "33.3"), (66.7, "66.7"), (0.1, "0.1"), (99.95, "100.0"), (1e-9, "0.0"),
    ])
    func decimals(_ value: Double, _ text: String) {
        #expect(XMLReportBody.decimal(value) == text)
    }

    @Test("markup in text is escaped and a carriage return is written as a character reference, so parsers keep it")
    func escaping() throws {
        let db = try XMLTestDatabase()
        try db.set("08115003", "10000", RecordUpdate(status: .online, note: "a\rb\r\nc <d> & ]]> \"e\"\tf"))
        let xml = try db.exportXML(try reproducible("08115003"))
        #expect(xml.contains("<notiz>a&#13;b&#13;\nc &lt;d&gt; &amp; ]]&gt; &quot;e&quot;\tf</notiz>"))
    }

    @Test("values of attributes are escaped, so that tabs, line breaks, quotes and markup survive parsing")
    func attributeEscaping() throws {
        let db = try XMLTestDatabase()
        try db.set("08115003", "10000", RecordUpdate(status: .online), actor: "Anna \"A\" <a&b>\tTab\nLF\rCR\u{1}")
        let xml = try db.exportXML(try reproducible("08115003", provenance: true))
        #expect(xml.contains(" aktualisiertVon=\"Anna &quot;A&quot; &lt;a&amp;b&gt;&#9;Tab&#10;LF&#13;CR\u{FFFD}\""))
        #expect(try XMLSchemaValidator().validate(string: xml).isValid)
        #expect(try parsedAttribute("aktualisiertVon", in: xml) == "Anna \"A\" <a&b>\tTab\nLF\rCR\u{FFFD}")
    }

    @Test("a sink that fails (a full disk) makes the export throw the sink's error")
    func failingSink() throws {
        let db = try XMLTestDatabase()
        let sink = FailingSink(limit: 50_000)
        let error = #expect(throws: OutputError.self) {
            try Report.with(try reproducible("08115"), catalogue: builtIn, store: db.store) { report in
                try XMLExporter().write(report, to: sink)
            }
        }
        #expect(error?.description == "cannot write test.xml: No space left on device")
    }

    @Test("the exporter describes itself")
    func identity() {
        let exporter = XMLExporter()
        #expect(exporter.identifier == "xml")
        #expect(exporter.fileExtension == "xml")
        #expect(exporter.mediaType == "application/xml")
        #expect(!exporter.description.isEmpty)
    }
}

@Suite("XML text: characters XML forbids are replaced, everything else kept")
struct XMLTextTests {
    @Test("C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF become U+FFFD", arguments: [
        ("a\u{0}b", "a\u{FFFD}b"), ("\u{1}\u{8}\u{B}\u{C}\u{1F}", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ("x\u{FFFE}y\u{FFFF}", "x\u{FFFD}y\u{FFFD}"), ("bell\u{7}", "bell\u{FFFD}"),
    ])
    func replaced(_ input: String, _ expected: String) {
        #expect(XMLText.sanitized(input) == expected)
    }

    @Test("tab, LF, CR, DEL, C1 controls, U+FFFD, umlauts and emoji are kept", arguments: [
        "tab\there", "line\nbreak", "carriage\rreturn", "\r\n", "del\u{7F}", "c1\u{85}\u{9F}", "\u{FFFD}", "Größe ÄÖÜ ß",
        "😀 👩‍👩‍👧", "\u{EFFFF}\u{10FFFD}", "",
    ])
    func kept(_ input: String) {
        #expect(XMLText.sanitized(input) == input)
    }

    @Test("stored control characters are written as U+FFFD and the document stays valid")
    func controlCharactersInStore() throws {
        let db = try XMLTestDatabase()
        try db.put("08115003", "10000", RecordValues(status: .online, solution: "bad\u{1}solution", note: "nul\u{0}and\u{1B}[31mescape"))
        let xml = try db.exportXML(try reproducible("08115003"))
        #expect(try XMLSchemaValidator().validate(string: xml).isValid)
        #expect(xml.contains("<loesung>bad\u{FFFD}solution</loesung>"))
        #expect(xml.contains("<notiz>nul\u{FFFD}and\u{FFFD}[31mescape</notiz>"))
    }

    @Test("text split inside a UTF-8 sequence reaches the sink whole, written at the end or block by block", arguments: [SinkBridge.blockSize, 5, 64])
    func chunkBoundaries(_ blockSize: Int) throws {
        let text = "aä€😀b" + String(repeating: "Größe 😀 ", count: 40)
        let bytes = Array(text.utf8)
        for size in 1...7 {
            let sink = StringSink()
            let bridge = SinkBridge(sink: sink, blockSize: blockSize)
            var start = 0
            while start < bytes.count {
                let end = min(start + size, bytes.count)
                let ok = bytes[start..<end].withUnsafeBufferPointer { bridge.write($0) }
                #expect(ok)
                start = end
            }
            #expect(bridge.finish())
            #expect(sink.text == text, "chunks of \(size) bytes")
        }
    }

    @Test("a sink that fails makes later writes fail and finish report the sink's error")
    func failingSink() throws {
        let sink = FailingSink(limit: 1_000)
        let bridge = SinkBridge(sink: sink, blockSize: 100)
        let chunk = Array(repeating: UInt8(0x61), count: 37)
        var accepted = 0
        while accepted < 100_000, chunk.withUnsafeBufferPointer({ bridge.write($0) }) { accepted += chunk.count }
        #expect(accepted < 100_000)
        #expect(!bridge.finish())
        #expect((bridge.error as? OutputError)?.description == "cannot write test.xml: No space left on device")
        #expect(sink.written <= 1_000 + 100)
    }

    @Test("an export that fails drops what it had not written")
    func cancelled() throws {
        let sink = StringSink()
        let bridge = SinkBridge(sink: sink, blockSize: 10)
        let bytes = Array("0123456789".utf8)
        for _ in 0..<5 { #expect(bytes.withUnsafeBufferPointer { bridge.write($0) }) }
        bridge.cancel()
        #expect(sink.text.count <= 50)
        #expect(sink.text.allSatisfy { $0.isNumber })
    }
}
