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
    /// Written by a pass's producing thread at its end, read by the caller: guarded by `lock`.
    private var completed: ReportSummary?
    private var completedTrend: ReportTrend?
    private var failure: (any Error)?
    /// Whether a pass without aggregates ran to its end (``rowsWithoutAggregates()``).
    private var passCompleted = false
    private let lock = NSLock()

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
            generator: Generator.name, version: Generator.version, createdAt: query.createdAt ?? Date(),
            catalogue: catalogue.services.edition, territory: catalogue.regions.edition,
            scope: .init(key: region?.key.description, name: region?.name ?? "Deutschland", level: region?.level.rawValue ?? "bund"),
            asOf: query.asOf, themenfeld: query.filter.themenfeld, municipalOnly: query.filter.municipalOnly,
            statuses: query.statuses.map { $0.map(\.name).sorted() }, provenance: query.provenance,
            units: scope.reportingUnits.count, services: services.count, counting: ReportHeader.countingRule)
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

    /// A pass over the rows that, with `trend`, also counts the report's trend from the versions the store's
    /// cursor reads anyway: ``trend()`` after the complete pass then costs nothing (without it, ``trend()`` reads
    /// the store's history in a pass of its own). For exporters that write the trend.
    public func rows(withTrend trend: Bool) -> ReportRows { ReportRows(report: self, trend: trend) }

    /// As ``rows(withTrend:)``, for exporters that do not show some fields: the store may leave them out of the
    /// rows' values (`nil`), and then neither reads nor builds them. The aggregates need status, Reifegrad and
    /// solution; leave those in when ``summary()`` is used.
    package func rows(withTrend trend: Bool, omitting: Set<RecordField>) -> ReportRows {
        ReportRows(report: self, trend: trend, omitting: omitting)
    }

    /// A pass over the rows that counts no aggregates, for exporters that show none (CSV): ``checkPass()`` after
    /// it costs nothing, but ``summary()`` runs a pass of its own. Counting them was about a tenth of the national
    /// CSV report's formatting thread (`perf record`, release build).
    package func rowsWithoutAggregates() -> ReportRows { ReportRows(report: self, aggregating: false) }

    /// Throws the error that ended the last pass early; returns when a pass completed (with or without
    /// aggregates); runs a pass (``summary()``) when none has.
    package func checkPass() throws {
        lock.lock()
        let failure = self.failure
        let done = completed != nil || passCompleted
        lock.unlock()
        if let failure { throw failure }
        if !done { _ = try summary() }
    }

    /// The aggregates: those of the last complete pass, or a pass run now.
    /// - Throws: the error that ended a pass early (a failing disk, for one).
    public func summary() throws -> ReportSummary {
        if let result = outcome() { return try result.get() }
        for _ in rows() {}
        guard let result = outcome() else { throw StoreError("the report could not be completed") }
        return try result.get()
    }

    private func outcome() -> Result<ReportSummary, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        if let failure { return .failure(failure) }
        return completed.map { .success($0) }
    }

    func finish(_ summary: ReportSummary, trend: ReportTrend? = nil) {
        lock.lock()
        completed = summary
        if let trend { completedTrend = trend }
        lock.unlock()
    }

    /// A pass without aggregates ran to its end.
    func finishWithoutAggregates() {
        lock.lock()
        passCompleted = true
        lock.unlock()
    }

    /// The trend a complete pass counted, if one did.
    func countedTrend() -> ReportTrend? {
        lock.lock()
        defer { lock.unlock() }
        return completedTrend
    }

    func fail(_ error: any Error) {
        lock.lock()
        failure = error
        lock.unlock()
    }
}
