import CLibXML
import Exporters
import Foundation
import OZGCore
import Testing

/// A fixture file's path.
func fixture(_ name: String) -> String { packageRoot.appendingPathComponent("Tests/Fixtures/xml/\(name)").path }

/// The built-in catalogue, loaded once for all tests.
let builtIn: Catalogue = {
    do {
        return try Catalogue.builtIn()
    } catch {
        preconditionFailure("the built-in catalogue does not load: \(error)")
    }
}()

/// A fixed creation time, so that two exports of the same data are byte-identical.
let fixedCreation = Date(timeIntervalSince1970: 1_764_000_000)  // 2025-11-24T16:00:00Z

/// A fresh database in a temporary directory, removed with the value.
final class XMLTestDatabase {
    let directory: URL
    let store: SQLiteStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-xml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("test.sqlite").path, mode: .create)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Writes `text` to a file in the directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Records one change through the importer (validated as `ozgtrack set` does).
    func set(_ region: String, _ service: String, _ update: RecordUpdate, at: Date? = nil, actor: String = "test") throws {
        _ = try Importer.set(
            RecordKey(region: try RegionKey(region), service: try OZGID(service)), update, into: store,
            batch: BatchInfo(actor: actor, source: "cli", command: "set", at: at))
    }

    /// Stores values as they are, past the importer's checks (for values an older version may have stored).
    func put(_ region: String, _ service: String, _ values: RecordValues) throws {
        let key = RecordKey(region: try RegionKey(region), service: try OZGID(service))
        try store.write(BatchInfo(actor: "test", source: "raw", command: "test")) { writer in try writer.put(key, values) }
    }

    /// The report of `query` as XML.
    func exportXML(_ query: ReportQuery) throws -> String {
        let sink = StringSink()
        try Report.with(query, catalogue: builtIn, store: store) { report in
            try XMLExporter().write(report, to: sink)
        }
        return sink.text
    }

    /// Imports XML files into this database.
    func importXML(_ paths: [String], skipUnknown: Bool = false) throws -> ImportSummary {
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: skipUnknown)
        return try Importer.run(
            paths.map { XMLRecordSource(path: $0, validator: validator) }, into: store,
            batch: BatchInfo(actor: "ministry", source: "report.xml", command: "import"), validator: validator)
    }

    func record(_ region: String, _ service: String) throws -> StoredRecord? {
        let key = RecordKey(region: try RegionKey(region), service: try OZGID(service))
        return try store.read { try $0.current(key, asOf: nil) }
    }
}

/// A query without provenance and with a fixed creation time (reproducible output).
func reproducible(
    _ scope: String?, asOf: Date? = nil, filter: ServiceFilter = ServiceFilter(), statuses: Set<RowStatus>? = nil,
    provenance: Bool = false
) throws -> ReportQuery {
    ReportQuery(
        scope: try scope.map { try RegionKey($0) }, asOf: asOf, filter: filter, statuses: statuses, provenance: provenance,
        createdAt: fixedCreation)
}

/// Every row of `source`, or the errors it reported, in order.
func readAll(_ source: any RecordSource) throws -> (rows: [ImportRow], errors: [InputError]) {
    var rows: [ImportRow] = []
    var errors: [InputError] = []
    try source.forEachRow { result in
        switch result {
        case .success(let row): rows.append(row)
        case .failure(let error): errors.append(error)
        }
    }
    return (rows, errors)
}

/// A sink that fails once more than `limit` characters were written, like a full disk.
final class FailingSink: OutputSink {
    let limit: Int
    private(set) var written = 0

    init(limit: Int) { self.limit = limit }

    func write(_ text: String) throws {
        written += text.utf8.count
        if written > limit { throw OutputError.cannotWrite(target: "test.xml", reason: "No space left on device") }
    }

    func write(bytes: UnsafeRawBufferPointer) throws {
        written += bytes.count
        if written > limit { throw OutputError.cannotWrite(target: "test.xml", reason: "No space left on device") }
    }
}

/// A hostile note: markup, entity and CDATA look-alikes, quotes, every kind of line break, tabs.
let hostileNote = "a < b && c > d; ]]> <![CDATA[x]]> &amp; \"double\" 'single'\r\nCRLF\rCR\nLF\tTab <!DOCTYPE x> &#0;"

/// Records of every kind, in a Gemeinde (08115003 Böblingen), its Kreis (08115), its Land (08), the Land Bremen
/// (04) and a Samtgemeinde (033525404 Börde Lamstedt) with a member: all statuses, both maturity models, dates,
/// URLs with `&` and `?`, hostile text.
let sampleRecords: [(region: String, service: String, update: RecordUpdate)] = [
    (
        "08115003", "10000",
        RecordUpdate(
            status: .online, maturity: 3, onlineSince: ISODate("2025-03-01"), url: "https://service.example/eltern?ort=08115003&lang=de#top",
            solution: "EfA \"Elterngeld digital\" <v2> & more", note: hostileNote)
    ),
    ("08115003", "10001", RecordUpdate(status: .planned, maturity: 6, maturityModel: .v2, planned: ISODate("2026-01-31"))),
    ("08115003", "10002", RecordUpdate(status: .inProgress, note: "   ")),
    ("08115003", "10003", RecordUpdate(status: .notApplicable, note: "Zuständig ist der Kreis.\n")),
    ("08115003", "10004", RecordUpdate(status: .notStarted, maturity: 0)),
    ("08115001", "10000", RecordUpdate(status: .online, url: "HTTP://EXAMPLE.ORG/a%zz[1]?x=<y>")),
    ("08115", "10005", RecordUpdate(status: .online, solution: "Kreisportal")),
    ("08115", "10006", RecordUpdate(status: .planned)),
    ("08", "10007", RecordUpdate(status: .online, url: "https://bw.example/")),
    ("04011000", "10000", RecordUpdate(status: .online, maturity: 4)),
    ("04", "10001", RecordUpdate(status: .online)),
    ("033525404", "10000", RecordUpdate(status: .online)),
    ("03352002", "10001", RecordUpdate(status: .inProgress, note: "Samtgemeinde-Mitglied")),
]

/// Records ``sampleRecords`` (those within `scope` when given), all at one time in February 2025.
func populate(_ db: XMLTestDatabase, within scope: String? = nil) throws {
    let at = Date(timeIntervalSince1970: 1_740_000_000)  // 2025-02-19
    let regionScope = try RegionScope(try scope.map { try RegionKey($0) }, in: builtIn.regions)
    for (region, service, update) in sampleRecords where regionScope.contains(try RegionKey(region)) {
        try db.set(region, service, update, at: at)
    }
}

/// The number of times `needle` occurs in `text`.
func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// The value of the first attribute `name` in `xml`, as an XML parser reads it (libxml2's tree parser, without
/// network or entities): to check what a consumer gets back from an escaped value.
func parsedAttribute(_ name: String, in xml: String) throws -> String? {
    let bytes = Array(xml.utf8)
    let parsed = bytes.withUnsafeBufferPointer { buffer in
        buffer.withMemoryRebound(to: CChar.self) {
            xmlReadMemory($0.baseAddress, Int32($0.count), "test.xml", nil, Int32(XML_PARSE_NONET.rawValue))
        }
    }
    let document = try #require(parsed)
    defer { xmlFreeDoc(document) }
    func search(_ node: xmlNodePtr?) -> String? {
        var current = node
        while let element = current {
            if element.pointee.type == XML_ELEMENT_NODE {
                if let value = xmlGetProp(element, name) {
                    defer { ozg_xmlFree(value) }
                    return String(cString: value)
                }
                if let found = search(element.pointee.children) { return found }
            }
            current = element.pointee.next
        }
        return nil
    }
    return search(xmlDocGetRootElement(document))
}
