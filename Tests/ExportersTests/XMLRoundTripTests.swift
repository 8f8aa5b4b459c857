import Exporters
import Foundation
import OZGCore
import Testing

@Suite("XML round trip: export, import into an empty database, export again")
struct XMLRoundTripTests {
    @Test(
        "the second export is byte-identical to the first (for data within the scope)",
        arguments: [
            ("one Gemeinde", "08115003", ServiceFilter()),
            ("a Kreis with records of the Kreis and the Land above", "08115", ServiceFilter()),
            ("a Land (Bremen) with the Land's own records", "04", ServiceFilter()),
            ("a Samtgemeinde with its members", "033525404", ServiceFilter()),
            ("a Themenfeld of a Kreis", "08115", ServiceFilter(themenfeld: 6)),
        ])
    func byteIdentical(_ name: String, _ scope: String, _ filter: ServiceFilter) throws {
        let first = try XMLTestDatabase()
        try populate(first, within: scope)
        let query = try reproducible(scope, filter: filter)
        let exported = try first.exportXML(query)
        let path = try first.file("report.xml", exported)

        let second = try XMLTestDatabase()
        let summary = try second.importXML([path])
        #expect(summary.inserted == occurrences(of: " status=\"", in: exported), "\(name)")
        #expect(summary.inserted > 0)
        let again = try second.exportXML(query)
        // The trend (`verlauf`) shows the history of the database, which an import starts anew: everything else is
        // the same, byte for byte.
        #expect(withoutTrend(again) == withoutTrend(exported), "\(name)")
    }

    private func withoutTrend(_ text: String) -> String {
        guard let start = text.range(of: "<verlauf>"), let end = text.range(of: "</verlauf>") else { return text }
        return text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
    }

    @Test("importing the same report again changes nothing")
    func idempotent() throws {
        let db = try XMLTestDatabase()
        try populate(db)
        let path = try db.file("report.xml", try db.exportXML(try reproducible("08115")))
        let again = try db.importXML([path])
        #expect(again.inserted == 0)
        #expect(again.updated == 0)
        #expect(again.unchanged == 8)
    }

    @Test("a service offered by a unit outside the scope is named in the report, but its record is not carried")
    func providersOutsideScope() throws {
        let first = try XMLTestDatabase()
        try populate(first)
        let exported = try first.exportXML(try reproducible("08115003"))
        #expect(exported.contains(" bereitgestelltDurch=\"08115\""))
        let second = try XMLTestDatabase()
        _ = try second.importXML([try first.file("report.xml", exported)])
        #expect(try second.record("08115", "10005") == nil)
        #expect(!(try second.exportXML(try reproducible("08115003"))).contains("bereitgestelltDurch="))
    }

    @Test(
        "hostile notes keep every character through export and import",
        arguments: [
            "a < b", "Tom & Jerry", "]]>", "<![CDATA[not a section]]>", "\"double\" and 'single' quotes", "&amp; stays literal",
            "&#65; is no character reference", "<!DOCTYPE x [<!ENTITY y \"z\">]>", "CRLF\r\nline", "CR only\rline",
            "LF\nline", "\r\n\r\n", "\ttab\tseparated\t", "   spaces around   ", "   ", "\n", "Emoji 😀 and ümlauts ß",
            "\u{85}\u{2028}\u{FFFD}", hostileNote, String(repeating: "Größe <&> 😀\r\n", count: 4_000 / 14),
        ])
    func hostileNotes(_ note: String) throws {
        let stored = try roundTrip(RecordUpdate(status: .inProgress, note: note))
        #expect(stored?.values.note == note)
    }

    @Test(
        "URLs with query strings and unusual characters round-trip unchanged",
        arguments: [
            "https://example.org/a?b=1&c=2", "https://example.org/?q=<script>&x='y'", "http://example.org/a%zz[1]|{}",
            "HTTPS://EXAMPLE.ORG/Path#frag#ment", "https://user:pw@example.org:8443/ä?ö=ü", "https://[::1]:8080/x",
        ])
    func urls(_ url: String) throws {
        let stored = try roundTrip(RecordUpdate(status: .online, url: url))
        #expect(stored?.values.url == url)
    }

    @Test("every kind of value round-trips: both maturity models, dates, all statuses")
    func values() throws {
        let updates = [
            RecordUpdate(status: .notStarted, maturity: 0), RecordUpdate(status: .planned, maturity: 7, maturityModel: .v2, planned: ISODate("2027-12-31")),
            RecordUpdate(status: .inProgress, maturity: 4, maturityModel: .v1), RecordUpdate(status: .online, onlineSince: ISODate("2000-01-01")),
            RecordUpdate(status: .notApplicable, solution: "Kreis", note: "n"),
        ]
        for update in updates {
            let stored = try roundTrip(update)
            let expected = try XMLTestDatabase()
            try expected.set("08115003", "10000", update)
            #expect(stored?.values == (try expected.record("08115003", "10000"))?.values)
        }
    }

    @Test("provenance in attributes keeps every character for a reader, though the import does not read it")
    func provenance() throws {
        let db = try XMLTestDatabase()
        let actor = "Müller, \"Anna\" <anna@example.org> & Co.\tTab\r\nZeile 2 ]]> 😀"
        try db.set("08115003", "10000", RecordUpdate(status: .online), actor: actor)
        let xml = try db.exportXML(try reproducible("08115003", provenance: true))
        #expect(try XMLSchemaValidator().validate(string: xml).issues == [])
        #expect(try parsedAttribute("aktualisiertVon", in: xml) == actor)
        #expect(try parsedAttribute("quelle", in: xml) == "cli")
        let target = try XMLTestDatabase()
        _ = try target.importXML([try db.file("report.xml", xml)])
        #expect(try target.record("08115003", "10000")?.updatedBy == "ministry")
    }

    @Test("solutions with markup and quotes round-trip unchanged")
    func solutions() throws {
        let solution = "EfA <\"Elterngeld digital\"> & 'Partner' ]]> (Version 2)"
        let stored = try roundTrip(RecordUpdate(status: .online, solution: solution))
        #expect(stored?.values.solution == solution)
    }

    /// Records `update` for 08115003/10000, exports that Gemeinde, checks the XML against the schema, imports
    /// it into an empty database and returns the record there.
    private func roundTrip(_ update: RecordUpdate) throws -> StoredRecord? {
        let source = try XMLTestDatabase()
        try source.set("08115003", "10000", update)
        let xml = try source.exportXML(try reproducible("08115003"))
        let validation = try XMLSchemaValidator().validate(string: xml)
        #expect(validation.issues == [])
        let target = try XMLTestDatabase()
        _ = try target.importXML([try source.file("report.xml", xml)])
        return try target.record("08115003", "10000")
    }
}
