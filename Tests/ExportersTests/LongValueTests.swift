import Exporters
import Foundation
import OZGCore
import Testing

/// A record whose note, solution and URL have the greatest accepted length and are made of what breaks formats:
/// delimiters, quotes, markup, line breaks, formula starts, C1 controls, bidirectional overrides.
struct LongValues {
    static let pattern = "=a|b<c>&\"d\";'e'\r\n]]>\u{85}\u{202E}x\u{202C}*_`[l](u) ü😀\t"
    static func filled(_ length: Int) -> String {
        var text = ""
        while text.unicodeScalars.count < length { text += pattern }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(length)))
    }
    static let note = filled(RecordValues.maxNoteLength)
    static let solution = filled(RecordValues.maxSolutionLength).replacingOccurrences(of: "\r\n", with: "  ")
        .replacingOccurrences(of: "\t", with: " ")
    static let url = "https://example.org/" + String(repeating: "a%22b%3C", count: (RecordValues.maxURLLength - 20) / 8)

    let db: XMLTestDatabase

    init() throws {
        db = try XMLTestDatabase()
        try db.set(
            "08115003", "10089",
            RecordUpdate(status: .online, maturity: 3, url: Self.url, solution: Self.solution, note: Self.note))
    }

    /// The report of the Gemeinde in `format`.
    func render(_ format: String) throws -> String {
        let exporter = try #require(ExporterRegistry.shared.exporter(named: format))
        let sink = StringSink()
        try Report.with(try reproducible("08115003", provenance: true), catalogue: builtIn, store: db.store) { report in
            try exporter.write(report, to: sink)
        }
        return sink.text
    }
}

@Suite("Very long values: every exporter's output parses back to the stored values")
struct LongValueTests {
    @Test("the values have the greatest accepted lengths")
    func lengths() {
        #expect(LongValues.note.unicodeScalars.count == RecordValues.maxNoteLength)
        #expect(LongValues.solution.unicodeScalars.count == RecordValues.maxSolutionLength)
        #expect(LongValues.url.count <= RecordValues.maxURLLength && LongValues.url.count > RecordValues.maxURLLength - 10)
    }

    @Test("CSV: the cells read back equal the values (the note behind its formula apostrophe)")
    func csv() throws {
        let records = try CSVOutputTests().parse(try LongValues().render("csv"), delimiter: .comma)
        #expect(Set(records.map(\.count)).count == 1)
        let row = try #require(records.first { $0.contains("10089") })
        // Booleans, so that a failure does not print kilobytes.
        let (note, solution, url) = (row.contains("'" + LongValues.note), row.contains("'" + LongValues.solution), row.contains(LongValues.url))
        #expect(note)
        #expect(solution)
        #expect(url)
    }

    @Test("JSON and JSON Lines: the strings parse back equal", arguments: ["json", "jsonl"])
    func json(format: String) throws {
        let text = try LongValues().render(format)
        let documents = format == "json" ? [Substring(text)] : text.split(separator: "\n")
        var notes: [String] = []
        for document in documents {
            let object = try JSONSerialization.jsonObject(with: Data(document.utf8))
            func collect(_ value: Any) {
                if let dictionary = value as? [String: Any] {
                    if let note = dictionary["note"] as? String {
                        notes.append(note)
                        let (url, solution) = (dictionary["url"] as? String == LongValues.url, dictionary["solution"] as? String == LongValues.solution)
                        #expect(url)
                        #expect(solution)
                    }
                    dictionary.values.forEach(collect)
                } else if let array = value as? [Any] {
                    array.forEach(collect)
                }
            }
            collect(object)
        }
        let equal = notes == [LongValues.note]
        #expect(equal)
    }

    @Test("XML: the report validates, and imported into an empty database gives the same values")
    func xml() throws {
        let values = try LongValues()
        let text = try values.render("xml")
        #expect(try XMLSchemaValidator().validate(string: text).isValid)
        let second = try XMLTestDatabase()
        _ = try second.importXML([try values.db.file("report.xml", text)])
        let record = try #require(try second.record("08115003", "10089"))
        let (note, solution, url) = (record.values.note == LongValues.note, record.values.solution == LongValues.solution, record.values.url == LongValues.url)
        #expect(note)
        #expect(solution)
        #expect(url)
    }

    @Test("Markdown: every table row keeps its column count and no raw markup or control character remains")
    func markdown() throws {
        let text = try LongValues().render("markdown")
        var columns: Int?
        for line in text.components(separatedBy: "\n") {
            guard line.hasPrefix("|") else {
                columns = nil
                continue
            }
            let count = MarkdownOutputTests().cells(line)
            if let columns { #expect(count == columns) } else { columns = count }
        }
        #expect(!text.contains("<c>"))
        #expect(!text.unicodeScalars.contains("\u{202E}"))
        #expect(!text.unicodeScalars.contains("\u{85}"))
    }
}
