import Foundation
import Testing

@testable import OZGCore

/// A stream over fixed versions: in the given pages (``VersionStream/nextPage(_:)``), or version by version.
final class FixedStream: VersionStream {
    private var pages: [[StoredVersion]]
    private var flat: [StoredVersion]
    private let paged: Bool

    init(pages: [[StoredVersion]], paged: Bool) {
        self.pages = pages
        flat = pages.flatMap { $0 }
        self.paged = paged
    }

    func next() throws -> StoredVersion? { flat.isEmpty ? nil : flat.removeFirst() }

    func nextPage(_ page: inout [StoredVersion]) throws -> Bool {
        guard paged else { return false }
        page = pages.isEmpty ? [] : pages.removeFirst()
        return true
    }
}

@Suite("Versions in pages: the newest per key, as version by version")
struct PagedVersionTests {
    static func version(_ region: String, _ service: Int, batch: Int) throws -> StoredVersion {
        StoredVersion(
            key: RecordKey(region: try RegionKey(region), service: try OZGID(String(service))),
            values: RecordValues(status: Status.allCases[batch % Status.allCases.count], note: "batch \(batch)"), batch: batch)
    }

    /// Pages hold every version of their keys; some keys have several versions, one page has no key twice.
    static func pages() throws -> [[StoredVersion]] {
        try [
        [try version("08111000", 10000, batch: 1), try version("08111000", 10000, batch: 3), try version("08111000", 10001, batch: 2)],
        [try version("08115001", 10000, batch: 1)],
        [try version("08115003", 10000, batch: 2), try version("08115003", 10046, batch: 1), try version("08115003", 10046, batch: 4),
         version("08115003", 10046, batch: 5)],
        ]
    }

    static func readVersionByVersion(_ cursor: NewestVersionCursor<FixedStream>) throws -> [StoredVersion] {
        var result: [StoredVersion] = []
        while let version = try cursor.nextVersion() { result.append(version) }
        return result
    }

    @Test("a paged cursor hands out the same newest versions as one read version by version, and shows every version")
    func pagesMatchVersionByVersion() throws {
        let expected = try Self.readVersionByVersion(
            NewestVersionCursor(FixedStream(pages: try Self.pages(), paged: false), provenance: [:]))
        #expect(expected.map(\.batch) == [3, 2, 1, 2, 5])

        let cursor = NewestVersionCursor(FixedStream(pages: try Self.pages(), paged: true), provenance: [:])
        var seen: [StoredVersion] = []
        cursor.observeEveryVersion { seen.append($0) }
        var newest: [StoredVersion] = []
        var page: [StoredVersion] = []
        while try cursor.nextNewestPage(&page), !page.isEmpty { newest += page }
        #expect(newest == expected)
        #expect(seen == (try Self.pages()).flatMap { $0 })
    }

    @Test("a stream without pages says so, and the cursor then reads it version by version")
    func streamWithoutPages() throws {
        let cursor = NewestVersionCursor(FixedStream(pages: try Self.pages(), paged: false), provenance: [:])
        var page: [StoredVersion] = []
        #expect(try cursor.nextNewestPage(&page) == false)
        #expect(page.isEmpty)
        #expect(try Self.readVersionByVersion(cursor).map(\.batch) == [3, 2, 1, 2, 5])
    }

    @Test("rows over many chunks and pages of versions read each unit's newest values and its batch where they are kept")
    func rowsReadTheirVersionsInPlace() throws {
        let db = try TestDatabase()
        let gemeinden = Array(builtIn.regions.within(try RegionKey("08115")).filter { $0.level == .gemeinde }.prefix(4))
        let services = builtIn.services.services
        var expected: [RecordKey: (values: RecordValues, at: Date)] = [:]
        for (step, at) in [time("2025-03-01T10:00:00Z"), time("2025-03-02T10:00:00Z")].enumerated() {
            try db.store.write(BatchInfo(actor: "test \(step)", source: "step \(step)", command: "import", at: at)) { writer in
                for (number, region) in gemeinden.enumerated() {
                    for (index, service) in services.enumerated() where step == 0 || index % 3 == number % 3 {
                        let key = RecordKey(region: region.key, service: service.id)
                        let values = RecordValues(
                            status: Status.allCases[(index + step) % Status.allCases.count], maturity: index % 5,
                            url: index % 2 == 0 ? "https://example.org/\(index)/\(step)" : nil, note: step == 1 ? "step 1" : nil)
                        try writer.put(key, values)
                        expected[key] = (values, at)
                    }
                }
            }
        }
        #expect(expected.count > 2 * 1_024)  // more rows than a chunk, more versions than a page of 512
        let query = ReportQuery(scope: try RegionKey("08115"), createdAt: time("2025-03-15T12:00:00Z"))
        let (checked, untracked) = try Report.with(query, catalogue: builtIn, store: db.store) { report in
            let rows = report.rowsWithoutAggregates()
            var checked = 0
            var untracked = 0
            while let row = rows.nextView() {
                let key = RecordKey(region: rows.regionList[row.region].key, service: rows.serviceList[row.service].id)
                if let written = expected[key] {
                    #expect(row.values == written.values)
                    #expect(row.updatedAt == written.at)
                    checked += 1
                } else {
                    #expect(row.values == nil && row.batch == nil && row.updatedAt == nil)
                    untracked += 1
                }
            }
            try report.checkPass()
            return (checked, untracked)
        }
        #expect(checked == expected.count)
        #expect(untracked > 0)
    }

    @Test("a pass without aggregates (the CSV report's) completes the report's check; a summary afterwards counts every row")
    func passWithoutAggregates() throws {
        let db = try TestDatabase()
        try db.store.write(BatchInfo(actor: "test", source: "test", command: "set", at: time("2025-03-01T10:00:00Z"))) { writer in
            for (region, service, status) in [("08115003", "10000", Status.online), ("08115001", "10046", .planned), ("08115", "10001", .online)] {
                try writer.put(RecordKey(region: try RegionKey(region), service: try OZGID(service)), RecordValues(status: status))
            }
        }
        let query = ReportQuery(scope: try RegionKey("08115"), createdAt: time("2025-03-15T12:00:00Z"))
        let expected = try Report.with(query, catalogue: builtIn, store: db.store) { try JSON.encode(try $0.summary(), pretty: false) }
        let (rows, summary) = try Report.with(query, catalogue: builtIn, store: db.store) { report in
            let pass = report.rowsWithoutAggregates()
            var rows = 0
            while pass.nextView() != nil { rows += 1 }
            try report.checkPass()
            return (rows, try JSON.encode(try report.summary(), pretty: false))
        }
        #expect(rows > 0)
        #expect(summary == expected)
    }
}
