import Foundation
import Testing

@testable import OZGCore

/// A small random history around the Kreis Böblingen: Gemeinden (some in Verbände), their Verbände, the Kreis,
/// the Bezirk and the Land record a few services over eight months, every status included.
private func generatedHistory() throws -> TestDatabase {
    let db = try TestDatabase()
    let registry = builtIn.regions
    let kreis = try RegionKey("08115")
    let gemeinden = registry.descendants(of: kreis, level: .gemeinde)
    let verbaende = registry.descendants(of: kreis, level: .verband)
    // Verwaltungsverbände have a 5 after the Kreis's digits; the others are verbandsfreie Gemeinden.
    let shared = verbaende.filter { $0.key.description.dropFirst(5).hasPrefix("5") }
    let inVerband = gemeinden.filter { gemeinde in shared.prefix(2).contains { $0.key == gemeinde.verband } }
    var regions = Array(gemeinden.prefix(5)) + Array(inVerband.prefix(6)) + Array(shared.prefix(2)) + Array(verbaende.prefix(1))
    regions += [kreis, try RegionKey("081"), try RegionKey("08")].compactMap { registry.region($0) }
    let services = try ["10000", "10001", "10046", "10224", "99001"].compactMap { text -> OZGID? in
        let id = try OZGID(text)
        return builtIn.services.position(of: id) == nil ? nil : id
    } + builtIn.services.services.filter { $0.themenfeld == 1 }.prefix(2).map(\.id)
    var random: UInt64 = 2025
    func next(_ bound: Int) -> Int {
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
    var day = time("2025-01-03T10:00:00Z")
    for batch in 0..<14 {
        // Some batches land exactly on a month's first instant (they count for that month, not the one before).
        day = batch == 6 ? time("2025-05-01T00:00:00Z") : day.addingTimeInterval(Double(5 + next(20)) * 86_400)
        try db.store.write(BatchInfo(actor: "test", source: "generated", command: "set", at: day)) { writer in
            var seen = Set<RecordKey>()
            for _ in 0..<25 {
                let key = RecordKey(region: regions[next(regions.count)].key, service: services[next(services.count)])
                guard seen.insert(key).inserted else { continue }
                let status = Status.allCases[next(Status.allCases.count)]
                let solution = next(3) == 0 ? ["EfA Schülerbeförderung", " EfA Schülerbeförderung ", "Civento"][next(3)] : nil
                try writer.put(key, RecordValues(status: status, solution: solution))
            }
        }
    }
    return db
}

@Suite("Report aggregates: the trend over time and EfA reuse")
struct ReportAggregateTests {
    static let scopes = ["08115", "08115001", "081155001"]

    @Test(
        "each trend point equals a report --as-of that day (own and including higher level, filters applied)",
        arguments: scopes, [ServiceFilter(), ServiceFilter(themenfeld: 1), ServiceFilter(municipalOnly: true)])
    func trendMatchesReportsAsOf(scope: String, filter: ServiceFilter) throws {
        let db = try generatedHistory()
        let key = try RegionKey(scope)
        guard builtIn.regions.region(key) != nil else { return }
        for asOf in [nil, time("2025-06-17T12:00:00Z")] as [Date?] {
            let query = ReportQuery(scope: key, asOf: asOf, filter: filter, createdAt: time("2025-10-15T12:00:00Z"))
            let trend = try Report.with(query, catalogue: builtIn, store: db.store) { try $0.trend() }
            #expect(trend.points.first?.date.description == "2025-01-31")
            #expect(trend.points.last?.date.description == (asOf == nil ? "2025-10-15" : "2025-06-17"))
            for point in trend.points {
                let instant = point == trend.points.last && asOf != nil ? asOf : point.date.endOfDayUTC
                var brute = query
                brute.asOf = instant
                let overall = try Report.with(brute, catalogue: builtIn, store: db.store) { try $0.summary().overall }
                #expect(point.relevant == overall.relevant, "\(scope) \(point.date)")
                #expect(point.online == overall.online, "\(scope) \(point.date)")
                #expect(point.onlineIncludingHigherLevel == overall.onlineIncludingHigherLevel, "\(scope) \(point.date)")
            }
        }
    }

    @Test(
        "the trend counted in the report's own pass equals the one read from the store's change stream",
        arguments: [nil, "08", "081", "08115", "08115001", "081155001"], [ServiceFilter(), ServiceFilter(themenfeld: 1)])
    func trendCountedInThePass(scope: String?, filter: ServiceFilter) throws {
        let db = try generatedHistory()
        let key = try scope.map { try RegionKey($0) }
        for asOf in [nil, time("2025-06-17T12:00:00Z"), time("2025-05-01T00:00:00Z")] as [Date?] {
            for statuses in [nil, [RowStatus.recorded(.online)]] as [Set<RowStatus>?] {
                let query = ReportQuery(
                    scope: key, asOf: asOf, filter: filter, statuses: statuses, createdAt: time("2025-10-15T12:00:00Z"))
                let counted = try Report.with(query, catalogue: builtIn, store: db.store) { report in
                    for _ in report.rows(withTrend: true) {}
                    return try report.trend()
                }
                // Without a pass, the trend is read from the change stream.
                let read = try Report.with(query, catalogue: builtIn, store: db.store) { try $0.trend() }
                #expect(!counted.points.isEmpty)
                #expect(counted == read, "\(scope ?? "Deutschland") \(String(describing: asOf)) \(String(describing: statuses))")
            }
        }
    }

    @Test(
        "a pass that leaves out URLs, notes and dates (the HTML page of many units) counts the same aggregates, unit figures and trend",
        arguments: [nil, "08", "08115"] as [String?])
    func passWithoutUnshownFields(scope: String?) throws {
        let db = try generatedHistory()
        try db.store.write(BatchInfo(actor: "test", source: "full", command: "set", at: time("2025-12-01T10:00:00Z"))) { writer in
            for (region, service) in [("08115003", "10000"), ("08115", "10001"), ("08115001", "10046")] {
                try writer.put(
                    RecordKey(region: try RegionKey(region), service: try OZGID(service)),
                    RecordValues(
                        status: .online, maturity: 3, planned: ISODate("2025-06-30"), onlineSince: ISODate("2025-11-03"),
                        url: "https://example.org/\(region)/\(service)", solution: "Civento", note: "a note"))
            }
        }
        let query = ReportQuery(scope: try scope.map { try RegionKey($0) }, createdAt: time("2025-12-15T12:00:00Z"))
        let unshown: Set<RecordField> = [.planned, .onlineSince, .url, .note]
        func pass(omitting: Set<RecordField>, handOut: Bool) throws -> (summary: String, units: [[Int32]], trend: ReportTrend, values: [RecordValues?]) {
            try Report.with(query, catalogue: builtIn, store: db.store) { report in
                let rows = report.rows(withTrend: true, omitting: omitting)
                var values: [RecordValues?] = []
                if handOut {
                    while let view = rows.nextView() { values.append(view.values) }
                } else {
                    rows.aggregateRemaining()
                }
                let tally = rows.unitTally
                let units = [tally.services, tally.relevant, tally.online, tally.onlineIncludingHigherLevel, tally.maturityAtLeast3]
                return (try JSON.encode(try report.summary(), pretty: false), units, try report.trend(), values)
            }
        }
        let full = try pass(omitting: [], handOut: true)
        #expect(full.values.contains { $0?.url != nil && $0?.note != nil && $0?.planned != nil && $0?.onlineSince != nil })
        for lean in [try pass(omitting: unshown, handOut: true), try pass(omitting: unshown, handOut: false)] {
            #expect(lean.summary == full.summary)
            #expect(lean.units == full.units)
            #expect(lean.trend == full.trend)
            #expect(!lean.trend.points.isEmpty)
        }
        let lean = try pass(omitting: unshown, handOut: true)
        #expect(lean.values.count == full.values.count)
        #expect(lean.values.allSatisfy { $0?.url == nil && $0?.note == nil && $0?.planned == nil && $0?.onlineSince == nil })
        #expect(lean.values.map { $0?.status } == full.values.map { $0?.status })
        #expect(lean.values.map { $0?.maturity } == full.values.map { $0?.maturity })
        #expect(lean.values.map { $0?.solution } == full.values.map { $0?.solution })
    }

    @Test("the trend has one point per month, each at the month's last day")
    func trendMonths() throws {
        let db = try generatedHistory()
        let query = ReportQuery(scope: try RegionKey("08115"), createdAt: time("2025-10-15T12:00:00Z"))
        let trend = try Report.with(query, catalogue: builtIn, store: db.store) { try $0.trend() }
        #expect(
            trend.points.map(\.date.description) == [
                "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30", "2025-07-31", "2025-08-31",
                "2025-09-30", "2025-10-15",
            ])
    }

    @Test("a scope without any record has an empty trend and no solutions")
    func emptyTrend() throws {
        let db = try TestDatabase()
        let query = ReportQuery(scope: try RegionKey("08115"))
        let (trend, summary) = try Report.with(query, catalogue: builtIn, store: db.store) { (try $0.trend(), try $0.summary()) }
        #expect(trend.points.isEmpty)
        #expect(summary.solutions.isEmpty)
    }

    @Test("EfA reuse: per trimmed solution its services, the reporting units using it and their share")
    func solutions() throws {
        let db = try TestDatabase()
        _ = try db.set("08115001", "10000", RecordUpdate(status: .online, solution: "Civento"))
        _ = try db.set("08115001", "10001", RecordUpdate(status: .planned, solution: " Civento "))
        _ = try db.set("08115003", "10001", RecordUpdate(status: .online, solution: "Civento"))
        _ = try db.set("08115", "10046", RecordUpdate(status: .online, solution: "EfA Schülerbeförderung"))
        _ = try db.set("08115003", "10046", RecordUpdate(status: .online, solution: "   "))
        _ = try db.set("08116004", "10000", RecordUpdate(status: .online, solution: "Civento"))
        let query = ReportQuery(scope: try RegionKey("08115"), statuses: [.recorded(.notStarted)])
        let summary = try Report.with(query, catalogue: builtIn, store: db.store) { try $0.summary() }
        let units = builtIn.regions.descendants(of: try RegionKey("08115"), level: .gemeinde).count
        #expect(summary.solutions.map(\.name) == ["Civento", "EfA Schülerbeförderung"])
        let civento = try #require(summary.solutions.first)
        #expect(civento.services == ["10000", "10001"])
        #expect(civento.units == 2)
        #expect(civento.records == 3)
        #expect(civento.higherLevelUnits == 0)
        #expect(civento.share == ServiceCounts.percent(2, units))
        let efa = try #require(summary.solutions.last)
        #expect(efa.units == 0)
        #expect(efa.higherLevelUnits == 1)
        #expect(efa.services == ["10046"])
    }
}
