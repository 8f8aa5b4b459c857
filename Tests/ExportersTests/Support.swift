import Foundation
import OZGCore
import Testing

/// The package root.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built-in catalogue (loaded once, in XMLTestSupport.swift).
var catalogue: Catalogue { builtIn }

/// A small, fixed, synthetic dataset (test data, not facts about these places): the Gemeindeverband
/// 081155001 (Aidlingen and Grafenau in Kreis Böblingen) in the Themenfeld Recht & Ordnung, with records of
/// the Kreis and the Verband, and values that try to break every format.
final class Fixture {
    let directory: URL
    let store: SQLiteStore

    static let hostileNote = "Zeile 1\nZeile 2 | mit Pipe <b>fett</b> & \"Zitat\" ]]> &amp; `code` *stern* _unter_"

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-exp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("fixture.sqlite").path, mode: .create)
        var minute = 0
        func set(_ region: String, _ service: String, _ update: RecordUpdate) throws {
            minute += 1
            let at = Date(timeIntervalSince1970: 1_735_725_600 + Double(minute * 60))  // 2025-01-01T10:00Z + n min
            _ = try Importer.set(
                RecordKey(region: try RegionKey(region), service: try OZGID(service)), update, into: store,
                batch: BatchInfo(actor: "test", source: "cli", command: "set", at: at))
        }
        try set("08115", "10244", RecordUpdate(status: .online, maturity: 3, url: "https://example.org/fundsachen", solution: "Fundbüro digital (Landkreis)"))
        try set("081155001", "10243", RecordUpdate(status: .inProgress, planned: ISODate("2026-06-30"), note: "Gemeinsam für beide Gemeinden"))
        try set("08115001", "10089", RecordUpdate(status: .online, maturity: 4, onlineSince: ISODate("2024-03-01"), url: "https://example.org/pkh?x=1&y=2", note: "=HYPERLINK(\"http://evil.example\")"))
        try set("08115001", "10093", RecordUpdate(status: .planned, planned: ISODate("2026-01-15"), note: Self.hostileNote))
        try set("08115001", "10241", RecordUpdate(status: .notApplicable))
        try set("08115001", "10246", RecordUpdate(status: .online, maturity: 5, maturityModel: .v2, note: "-2+3"))
        try set("08115001", "10244", RecordUpdate(status: .notStarted, note: "Bürgerbüro\r\nmit CRLF"))
        try set("08115054", "10089", RecordUpdate(status: .inProgress, maturity: 2))
        try set("08115054", "10553", RecordUpdate(status: .online, maturity: 3, solution: "@SUM(A1)", note: "\tTab am Anfang"))
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The fixed query: Verband 081155001 (or another scope), Themenfeld 11, fixed creation time.
    static func query(scope: String = "081155001", provenance: Bool = true, asOf: Date? = nil) throws -> ReportQuery {
        ReportQuery(
            scope: try RegionKey(scope), asOf: asOf, filter: ServiceFilter(themenfeld: 11), provenance: provenance,
            createdAt: Date(timeIntervalSince1970: 1_764_547_200))  // 2025-12-01T00:00:00Z
    }
}

/// Compares `text` with the golden file `name`; `OZGTRACK_RECORD_GOLDEN=1` (re)writes the file instead.
func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = packageRoot.appendingPathComponent("Tests/Fixtures/golden/\(name)")
    if ProcessInfo.processInfo.environment["OZGTRACK_RECORD_GOLDEN"] == "1" {
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let golden = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("no golden file \(name): run the tests with OZGTRACK_RECORD_GOLDEN=1 once", sourceLocation: sourceLocation)
        return
    }
    if golden != text {
        let expected = golden.components(separatedBy: "\n")
        let actual = text.components(separatedBy: "\n")
        let first = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(expected.count, actual.count)
        Issue.record(
            "output differs from \(name) at line \(first + 1):\nexpected: \(first < expected.count ? expected[first] : "<end>")\nactual:   \(first < actual.count ? actual[first] : "<end>")",
            sourceLocation: sourceLocation)
    }
}
