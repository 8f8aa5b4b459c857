import Foundation

/// A report over one consistent snapshot of the store: its header, its rows (read in one pass, in key order)
/// and its aggregates (accumulated during that pass).
///
/// Rows are not held in memory: a national report (≈ 10,800 Gemeinden × 557 services) streams through the
/// exporter. An exporter that needs the aggregates before the rows (a summary at the top) calls ``summary()``
/// first, which runs an extra pass; one that writes them after the rows iterates ``rows()`` and then calls
/// ``summary()``, which returns what the pass accumulated.
public final class Report {
    public let header: ReportHeader
    public let query: ReportQuery
    public let catalogue: Catalogue
    let reader: any TrackingReader
    let scope: RegionScope
    let higher: HigherLevelIndex
    /// The services passing the filter, with their catalogue positions.
    let services: [(position: Int, service: OZGService)]
    private var completed: ReportSummary?
    private var failure: (any Error)?

    init(query: ReportQuery, catalogue: Catalogue, reader: any TrackingReader) throws {
        self.query = query
        self.catalogue = catalogue
        self.reader = reader
        scope = try RegionScope(query.scope, in: catalogue.regions)
        higher = try HigherLevelIndex(reader: reader, catalogue: catalogue, asOf: query.asOf)
        services = catalogue.services.services.enumerated().filter { query.filter.includes($0.element) }.map {
            (position: $0.offset, service: $0.element)
        }
        let region = scope.region
        header = ReportHeader(
            generator: Generator.name, version: Generator.version, createdAt: query.createdAt ?? Report.now(),
            catalogue: catalogue.services.edition, territory: catalogue.regions.edition,
            scope: .init(key: region?.key.description, name: region?.name ?? "Deutschland", level: region?.level.rawValue ?? "bund"),
            asOf: query.asOf, themenfeld: query.filter.themenfeld, municipalOnly: query.filter.municipalOnly,
            statuses: query.statuses.map { $0.map(\.name).sorted() }, provenance: query.provenance,
            units: scope.reportingUnits.count, services: services.count, counting: ReportHeader.countingRule)
    }

    /// Now, or the time in `SOURCE_DATE_EPOCH` (seconds since 1970) for reproducible output.
    static func now() -> Date {
        if let text = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let seconds = Double(text) {
            return Date(timeIntervalSince1970: seconds)
        }
        return Date()
    }

    /// Builds the report over `store` and calls `body` with it while the snapshot is open.
    public static func with<T>(
        _ query: ReportQuery, catalogue: Catalogue, store: any TrackingStore, _ body: (Report) throws -> T
    ) throws -> T {
        try store.read { reader in
            let report = try Report(query: query, catalogue: catalogue, reader: reader)
            return try body(report)
        }
    }

    /// A pass over the rows, in key order (region, then OZG-ID). Each pass re-reads the snapshot.
    public func rows() -> ReportRows { ReportRows(report: self) }

    /// The aggregates: those of the last complete pass, or a pass run now.
    /// - Throws: the error that ended a pass early (a failing disk, for one).
    public func summary() throws -> ReportSummary {
        if let failure { throw failure }
        if let completed { return completed }
        for _ in rows() {}
        if let failure { throw failure }
        guard let completed else { throw StoreError("the report could not be completed") }
        return completed
    }

    func finish(_ summary: ReportSummary) { completed = summary }
    func fail(_ error: any Error) { failure = error }

    /// Whether a row passes the status filter.
    func lists(_ row: ReportRow) -> Bool { query.statuses?.contains(row.rowStatus) ?? true }
}

/// One pass over a report's rows. A store error ends the pass; ``Report/summary()`` then throws it.
public final class ReportRows: Sequence, IteratorProtocol {
    private let report: Report
    private var cursor: (any RecordCursor)?
    private var pending: StoredRecord?
    private let regions: [Region]
    private var regionIndex = 0
    private var unit: Region?
    private var unitIsReporting = false
    private var servicePointer = 0
    private var providers: [(key: RegionKey, services: ServiceSet)] = []
    private var finished = false
    private let reportingKeys: Swift.Set<String>?
    private let singleUnit: RegionKey?

    // Aggregates.
    private var overall = ServiceCounts()
    private var perThemenfeld: [Int: ServiceCounts] = [:]
    private var maturity: [Int: Int] = [:]
    private var coverage: [ServiceCoverage]
    private var orphaned = 0
    private var higherLevelRows = 0

    init(report: Report) {
        self.report = report
        let scope = report.scope
        if let region = scope.region {
            let prefix = RegionKey(canonical: scope.prefix ?? region.key.description)
            regions = report.catalogue.regions.within(prefix).filter { scope.contains($0.key) }
        } else {
            regions = report.catalogue.regions.regions
        }
        let units = scope.reportingUnits
        if units.count == 1, let only = units.first, only.level != .gemeinde || scope.region?.key == only.key {
            singleUnit = only.key
            reportingKeys = nil
        } else if scope.region == nil {
            singleUnit = nil
            reportingKeys = nil  // every Gemeinde
        } else {
            singleUnit = nil
            reportingKeys = Swift.Set(units.map(\.key.description))
        }
        coverage = report.services.map {
            ServiceCoverage(
                ozgID: $0.service.id.description, name: $0.service.name, themenfeld: $0.service.themenfeld, units: 0,
                relevantUnits: 0, onlineOwn: 0, onlineIncludingHigherLevel: 0)
        }
        do {
            cursor = try report.reader.records(prefix: scope.prefix, asOf: report.query.asOf)
            pending = try cursor?.next()
        } catch {
            report.fail(error)
            finished = true
        }
    }

    public func makeIterator() -> ReportRows { self }

    private func isReporting(_ region: Region) -> Bool {
        if let singleUnit { return region.key == singleUnit }
        if let reportingKeys { return reportingKeys.contains(region.key.description) }
        return region.level == .gemeinde
    }

    private func advance() throws { pending = try cursor?.next() }

    public func next() -> ReportRow? {
        guard !finished else { return nil }
        do {
            if let row = try step() { return row }
            finish()
        } catch {
            report.fail(error)
            finished = true
        }
        return nil
    }

    private func step() throws -> ReportRow? {
        let catalogue = report.catalogue.services
        while true {
            if let unit {
                if unitIsReporting {
                    while servicePointer < report.services.count {
                        let (position, service) = report.services[servicePointer]
                        servicePointer += 1
                        var record: StoredRecord?
                        while let next = pending, next.key.region == unit.key, next.key.service <= service.id {
                            if next.key.service == service.id {
                                record = next
                            } else if catalogue.position(of: next.key.service) == nil {
                                orphaned += 1
                            }
                            try advance()
                        }
                        var via: RegionKey?
                        if record?.values.status != .online, !providers.isEmpty {
                            via = providers.first { $0.services.contains(position) }?.key
                        }
                        let row = ReportRow(region: unit, isReportingUnit: true, service: service, record: record, via: via)
                        accumulate(row, position: servicePointer - 1)
                        if report.lists(row) { return row }
                    }
                    while let next = pending, next.key.region == unit.key {
                        if catalogue.position(of: next.key.service) == nil { orphaned += 1 }
                        try advance()
                    }
                } else {
                    while let next = pending, next.key.region == unit.key {
                        try advance()
                        guard let position = catalogue.position(of: next.key.service) else {
                            orphaned += 1
                            continue
                        }
                        let service = catalogue.services[position]
                        guard report.query.filter.includes(service) else { continue }
                        higherLevelRows += 1
                        let row = ReportRow(region: unit, isReportingUnit: false, service: service, record: next, via: nil)
                        if report.lists(row) { return row }
                    }
                }
                self.unit = nil
            }
            guard regionIndex < regions.count else {
                while let next = pending {
                    if report.scope.contains(next.key.region) { orphaned += 1 }
                    try advance()
                }
                return nil
            }
            let region = regions[regionIndex]
            regionIndex += 1
            while let next = pending, next.key.region < region.key {
                if report.scope.contains(next.key.region) { orphaned += 1 }
                try advance()
            }
            if isReporting(region) {
                unit = region
                unitIsReporting = true
                servicePointer = 0
                providers = report.higher.isEmpty ? [] : report.higher.providers(above: region)
            } else if pending?.key.region == region.key {
                unit = region
                unitIsReporting = false
            }
        }
    }

    private func accumulate(_ row: ReportRow, position: Int) {
        let values = row.record?.values
        let viaHigher = row.via != nil
        overall.add(values, viaHigherLevel: viaHigher)
        perThemenfeld[row.service.themenfeld, default: ServiceCounts()].add(values, viaHigherLevel: viaHigher)
        if let values, let level = values.maturity {
            maturity[(values.maturityModel ?? .v1).rawValue * 100 + level, default: 0] += 1
        }
        coverage[position].units += 1
        if values?.status != .notApplicable {
            coverage[position].relevantUnits += 1
            if row.isOnline { coverage[position].onlineOwn += 1 }
            if row.isOnlineIncludingHigherLevel { coverage[position].onlineIncludingHigherLevel += 1 }
        }
    }

    private func finish() {
        finished = true
        let fields = report.catalogue.services
        let themenfelder = perThemenfeld.keys.sorted().map { number in
            ReportSummary.ThemenfeldCounts(
                number: number, name: fields.themenfeld(number)?.name ?? "", counts: perThemenfeld[number] ?? ServiceCounts())
        }
        let buckets = maturity.keys.sorted().map {
            ReportSummary.MaturityBucket(model: $0 / 100, level: $0 % 100, count: maturity[$0] ?? 0)
        }
        report.finish(
            ReportSummary(
                overall: overall, themenfelder: themenfelder, maturity: buckets, services: coverage, orphanedRecords: orphaned,
                higherLevelRows: higherLevelRows))
    }
}
