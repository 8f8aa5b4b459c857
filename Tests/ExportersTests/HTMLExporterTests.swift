import Foundation
import OZGCore
import Testing

@testable import Exporters

/// Counts the occurrences of `needle` in `text`.
func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

/// A database whose records hold hostile values the validator would refuse (written past it, as a damaged or
/// foreign database could hold them).
private func hostileStore() throws -> (SQLiteStore, URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-html-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let store = try SQLiteStore(path: directory.appendingPathComponent("hostile.sqlite").path, mode: .create)
    let batch = BatchInfo(actor: "<script>alert('actor')</script>", source: "x", command: "set", at: Date(timeIntervalSince1970: 1_735_725_600))
    try store.write(batch) { writer in
        func put(_ service: String, _ values: RecordValues) throws {
            try writer.put(RecordKey(region: try RegionKey("08115001"), service: try OZGID(service)), values)
        }
        try put("10089", RecordValues(status: .online, url: "javascript:alert(document.cookie)", solution: "\"><img src=x onerror=alert(1)>", note: "<script>alert(1)</script>"))
        try put("10093", RecordValues(status: .online, url: "JaVaScRiPt:alert(2)", note: "</td></tr></table><iframe src=\"https://evil.example\"></iframe>"))
        try put("10241", RecordValues(status: .online, url: "https://example.org/a?b=1&c=\"><script>x</script>", solution: "'><svg onload=alert(3)>"))
        try put("10243", RecordValues(status: .planned, url: "data:text/html,<script>alert(4)</script>", note: "\u{1B}[31m rot \u{0}"))
    }
    return (store, directory)
}

@Suite("HTML report: self-contained, escaped, accessible")
struct HTMLExporterTests {
    func render(_ query: ReportQuery, store: SQLiteStore) throws -> String {
        let sink = StringSink()
        try Report.with(query, catalogue: catalogue, store: store) { try HTMLExporter().write($0, to: sink) }
        return sink.text
    }

    @Test("every stored text stays inert: no markup, no script, no javascript: or data: link")
    func hostileValues() throws {
        let (store, directory) = try hostileStore()
        defer { try? FileManager.default.removeItem(at: directory) }
        let html = try render(ReportQuery(scope: try RegionKey("08115001"), createdAt: Date(timeIntervalSince1970: 0)), store: store)
        #expect(!html.contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<iframe"))
        #expect(!html.contains("<svg onload"))
        #expect(!html.lowercased().contains("href=\"javascript:"))
        #expect(!html.contains("href=\"data:"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))
        #expect(html.contains("&#39;&gt;&lt;svg onload=alert(3)&gt;"))
        // The https URL is a link, with its quotes and brackets escaped inside the attribute.
        #expect(html.contains("<a href=\"https://example.org/a?b=1&amp;c=&quot;&gt;&lt;script&gt;x&lt;/script&gt;\" rel=\"noopener noreferrer\">"))
        // javascript: and data: URLs are shown as text only.
        #expect(html.contains("<td class=\"url\">javascript:alert(document.cookie)</td>"))
        #expect(html.contains("<td class=\"url\">JaVaScRiPt:alert(2)</td>"))
        #expect(!html.contains("\u{1B}"))
        #expect(!html.contains("\u{0}"))
        #expect(!html.contains("alert('actor')"))
    }

    @Test("the page loads nothing: a CSP forbids every network load, no script, no external reference")
    func selfContained() throws {
        let fixture = try Fixture()
        let html = try render(try Fixture.query(), store: fixture.store)
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"de\">"))
        #expect(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'\">"))
        for forbidden in ["<script", "<link", " src=", "@import", "url(", "<iframe", "<object", "<embed", "srcset"] {
            #expect(!html.contains(forbidden), "\(forbidden)")
        }
        #expect(html.contains("© GeoBasis-DE / BKG 2021 (Daten verändert)"))
        #expect(html.contains("dl-de/by-2-0"))
        #expect(html.contains("Statistisches Bundesamt (Destatis)"))
        #expect(html.contains("@media print{"))
        #expect(html.contains("@page{size:A4"))
    }

    @Test("headings go in order (one h1, no level skipped) and every chart is an image with title and description")
    func accessible() throws {
        let fixture = try Fixture()
        let html = try render(try Fixture.query(), store: fixture.store)
        #expect(count("<h1>", in: html) == 1)
        var previous = 1
        for match in html.matches(of: /<h([1-6])[ >]/) {
            let level = Int(match.output.1) ?? 0
            #expect(level <= previous + 1, "h\(level) after h\(previous)")
            previous = level
        }
        let charts = count("<svg class=\"chart\" role=\"img\"", in: html) + count("<svg class=\"map\" role=\"img\"", in: html)
        #expect(charts == 4)
        #expect(count("<title id=", in: html) == charts)
        #expect(count("<desc id=", in: html) == charts)
    }

    @Test("charts have one bar per Themenfeld and per Reifegrad level; the map one shape per unit")
    func chartsAndMap() throws {
        let fixture = try Fixture()
        let html = try render(try Fixture.query(), store: fixture.store)
        let themenfelder = try #require(html.split(separator: "data-chart=\"themenfelder\"").last?.split(separator: "</svg>").first)
        #expect(count("<g class=\"bar\">", in: String(themenfelder)) == 1)  // Themenfeld 11 only
        let reifegrad = try #require(html.split(separator: "data-chart=\"reifegrad\"").last?.split(separator: "</svg>").first)
        #expect(count("<g class=\"bar\">", in: String(reifegrad)) == 5 + 8)  // model 1 (0–4) and model 2 (0–7), used once
        #expect(count("<path class=\"u\"", in: html) == 2)  // Aidlingen and Grafenau
        #expect(html.contains("data-key=\"08115001\""))
        #expect(html.contains("data-key=\"08115054\""))
    }

    @Test("the EfA table names each solution with its units and services")
    func reuse() throws {
        let fixture = try Fixture()
        let html = try render(try Fixture.query(), store: fixture.store)
        #expect(html.contains("<th scope=\"row\">@SUM(A1)</th><td class=\"n\">1</td><td class=\"n\">50,0\u{00A0}%</td>"))
    }

    @Test("German number formats", arguments: [(0, "0"), (999, "999"), (1_000, "1.000"), (5_988_307, "5.988.307"), (-1_234, "-1.234")])
    func numbers(value: Int, text: String) {
        #expect(HTML.number(value) == text)
    }

    @Test("links only for http and https", arguments: [
        ("https://example.org", true), ("HTTP://EXAMPLE.ORG/x", true), ("javascript:alert(1)", false), ("data:text/html,x", false),
        ("//evil.example", false), ("https://exa mple.org", false), ("ftp://example.org", false),
    ])
    func links(url: String, linked: Bool) {
        #expect(HTML.isWebLink(url) == linked)
    }
}

@Suite("Map shapes: every unit of the registry can be drawn")
struct MapShapeTests {
    @Test("the embedded shapes parse, and every Gemeinde, Kreis and Land of the registry has one")
    func everyUnitHasAShape() throws {
        let shapes = try #require(MapShapes.embedded)
        let registry = catalogue.regions
        for level in [RegionLevel.gemeinde, .kreis, .land] {
            let without = registry.regions.filter { $0.level == level && !shapes.contains($0.key.description) }
            #expect(without.isEmpty, "\(level): \(without.map(\.key.description))")
        }
        for region in registry.regions where region.level == .gemeinde {
            let rings = try #require(shapes.rings(region.key.description))
            #expect(rings.contains { $0.count >= 3 }, "\(region.key)")
        }
    }

    @Test("only four gemeindefreie Gebiete have no shape (condominium, coastal waters), and are listed under a map")
    func unincorporatedWithoutShape() throws {
        let shapes = try #require(MapShapes.embedded)
        let without = catalogue.regions.regions.filter { $0.level == .gemeindefrei && !shapes.contains($0.key.description) }
        #expect(without.map(\.key.description).sorted() == ["07000999", "10042999", "13000998", "13000999"])
    }

    @Test("malformed shape text is refused", arguments: ["A !!\n", "U 01 0\n", "A ??\nU 01 x\n"])
    func malformed(text: String) {
        var copy = text
        let parsed = copy.withUTF8 { MapShapes(parsing: $0) }
        #expect(parsed == nil)
    }
}
