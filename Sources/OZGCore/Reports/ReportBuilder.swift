package import Foundation

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
    private var failure: (any Error)?
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

    func finish(_ summary: ReportSummary) {
        lock.lock()
        completed = summary
        lock.unlock()
    }

    func fail(_ error: any Error) {
        lock.lock()
        failure = error
        lock.unlock()
    }

    /// Whether a row passes the status filter.
    func lists(_ row: ReportRow) -> Bool { query.statuses?.contains(row.rowStatus) ?? true }
}

/// One pass over a report's rows. A store error ends the pass; ``Report/summary()`` then throws it.
///
/// The rows are produced on a thread of their own — reading the store and merging its records with the grid of
/// units × services — and handed over in chunks, so that an exporter formats rows on one core while the next
/// ones are read on the other (a national CSV report took half the time). What crosses over is compact:
/// positions in the report's region and service lists, the record's values and its batch; the rows themselves,
/// with their shared strings, are put together on this side only, so that reference counts do not bounce
/// between cores. The database connection is used by the producing thread only while the caller waits for rows;
/// everything that touches GRDB is prepared before it starts. Leaving the loop early stops the producer.
public final class ReportRows: Sequence, IteratorProtocol {
    private let channel = RowChannel()
    private let producer: RowProducer?
    private let merger: RowMerger
    private let report: Report
    /// The aggregates are added to here, on the caller's thread, which has time to spare while the producer
    /// reads the store.
    private var aggregator: ReportAggregator
    private let regions: [Region]
    private let services: [OZGService]
    private let provenance: [Int: BatchRow]
    private var lastBatch: (id: Int, row: BatchRow)?
    private var chunk: [CompactRow] = []
    private var completed = false

    init(report: Report) {
        self.report = report
        let merger = RowMerger(report: report)
        self.merger = merger
        aggregator = ReportAggregator(report: report)
        regions = merger.regions
        services = report.catalogue.services.services
        provenance = merger.provenance
        if merger.isFinished {
            producer = nil
            channel.finish()
        } else {
            let producer = RowProducer(merger: merger, channel: channel)
            self.producer = producer
            Thread.detachNewThread { producer.run() }
        }
    }

    deinit {
        channel.cancel()
        producer?.wait()
    }

    public func makeIterator() -> ReportRows { self }

    private func batch(_ id: Int) -> BatchRow {
        if let lastBatch, lastBatch.id == id { return lastBatch.row }
        let row = provenance[id] ?? BatchRow(at: Date(timeIntervalSince1970: 0), actor: "", source: "")
        lastBatch = (id, row)
        return row
    }

    private func row(_ compact: CompactRow) -> ReportRow {
        let region = regions[Int(compact.region)]
        let service = services[Int(compact.service)]
        var record = compact.record
        if record == nil, let values = compact.values {
            let info = batch(compact.batch)
            record = StoredRecord(
                key: RecordKey(region: region.key, service: service.id), values: values, updatedAt: info.at,
                updatedBy: info.actor, source: info.source)
        }
        var row = ReportRow(region: region, isReportingUnit: compact.reporting, service: service, record: record, via: compact.via)
        row.isListed = compact.listed
        return row
    }

    public func next() -> ReportRow? {
        guard let view = nextView() else { return nil }
        return row(view.compact)
    }

    /// Per reporting unit, the counts of the rows passed so far (all of them at the end of the pass).
    package var unitTally: UnitTally { aggregator.units }
    /// The regions of this pass, by the positions ``RowView/region`` refers to.
    package var regionList: [Region] { regions }
    /// The catalogue's services, by the positions ``RowView/service`` refers to.
    package var serviceList: [OZGService] { services }

    /// The next row as positions and values, without building a ``ReportRow`` (for the built-in exporters,
    /// which format from cached encodings of regions and services; counted in the aggregates like `next()`).
    package func nextView() -> RowView? {
        while true {
            // The chunk is kept reversed so that rows are moved out, not copied.
            while let compact = chunk.popLast() {
                if compact.reporting { aggregator.add(compact, services: services) } else { aggregator.addHigherLevel(compact) }
                if compact.listed {
                    let info = compact.values != nil && compact.record == nil ? batch(compact.batch) : nil
                    return RowView(compact: compact, provenance: info)
                }
            }
            guard let next = channel.take() else {
                producer?.wait()
                if !completed {
                    completed = true
                    if let failure = merger.failure {
                        report.fail(failure)
                    } else if merger.isComplete {
                        report.finish(aggregator.summary(orphaned: merger.orphaned, higherLevelRows: merger.higherLevelRows))
                    }
                }
                return nil
            }
            chunk = next
            chunk.reverse()
        }
    }
}

/// A row as positions and values, for exporters in this package.
package struct RowView {
    let compact: CompactRow
    private let provenance: BatchRow?
    /// The unit's own values, if it has a record.
    package let values: RecordValues?
    /// Online by the unit's own record.
    package let isOnline: Bool

    init(compact: CompactRow, provenance: BatchRow?) {
        self.compact = compact
        self.provenance = provenance
        values = compact.values ?? compact.record?.values
        isOnline = values?.status == .online
    }

    /// The position of the unit in ``ReportRows/regionList``.
    package var region: Int { Int(compact.region) }
    /// The position of the service in ``ReportRows/serviceList``.
    package var service: Int { Int(compact.service) }
    package var via: RegionKey? { compact.via }
    package var isReportingUnit: Bool { compact.reporting }
    package var isOnlineIncludingHigherLevel: Bool { isOnline || compact.via != nil }
    /// Who changed the record when and from where (`nil` when untracked).
    package var updatedAt: Date? { provenance?.at ?? compact.record?.updatedAt }
    package var updatedBy: String? { provenance?.actor ?? compact.record?.updatedBy }
    package var source: String? { provenance?.source ?? compact.record?.source }
}

/// A row as it crosses from the producing thread: positions instead of shared values.
struct CompactRow: Sendable {
    /// The position in the pass's region list and in the catalogue's service list.
    var region: Int32
    var service: Int32
    /// The record's values and batch (from a ``VersionCursor``), or the whole record (from other cursors).
    var values: RecordValues?
    var batch: Int
    /// The whole record, boxed: only cursors without a provenance table give it, and inline it would more than
    /// double the row's size, which is copied several times on its way (measured: memory copies were a quarter
    /// of a national report's time).
    private var boxed: RecordBox?
    var via: RegionKey?
    var reporting: Bool
    var listed: Bool

    var record: StoredRecord? { boxed?.record }

    init(
        region: Int32, service: Int32, values: RecordValues?, batch: Int, record: StoredRecord?, via: RegionKey?,
        reporting: Bool, listed: Bool
    ) {
        self.region = region
        self.service = service
        self.values = values
        self.batch = batch
        self.boxed = record.map(RecordBox.init)
        self.via = via
        self.reporting = reporting
        self.listed = listed
    }
}

/// A record kept by reference inside a ``CompactRow``.
final class RecordBox: Sendable {
    let record: StoredRecord
    init(_ record: StoredRecord) { self.record = record }
}

/// Adds rows of reporting units to the aggregates of a report.
struct ReportAggregator {
    private let report: Report
    private var overall = ServiceCounts()
    private var perThemenfeld: [ServiceCounts]
    private var themenfeldSeen: [Bool]
    private var maturity = [Int](repeating: 0, count: 3 * 16)
    private var coverage: [ServiceCoverage]
    /// The position of each catalogue service in `coverage` (-1 when filtered out), and its Themenfeld.
    private let coverageIndex: [Int32]
    private let themenfeld: [Int]
    private var solutions: SolutionAccumulator
    private(set) var units = UnitTally()

    init(report: Report) {
        self.report = report
        solutions = SolutionAccumulator(serviceCount: report.catalogue.services.services.count)
        let fields = (report.catalogue.services.themenfelder.map(\.number).max() ?? 0) + 1
        perThemenfeld = [ServiceCounts](repeating: ServiceCounts(), count: fields)
        themenfeldSeen = [Bool](repeating: false, count: fields)
        coverage = report.services.map {
            ServiceCoverage(
                ozgID: $0.service.id.description, name: $0.service.name, themenfeld: $0.service.themenfeld, units: 0,
                relevantUnits: 0, onlineOwn: 0, onlineIncludingHigherLevel: 0)
        }
        var index = [Int32](repeating: -1, count: report.catalogue.services.services.count)
        for (position, entry) in report.services.enumerated() { index[entry.position] = Int32(position) }
        coverageIndex = index
        themenfeld = report.catalogue.services.services.map(\.themenfeld)
    }

    mutating func add(_ row: CompactRow, services: [OZGService]) {
        let values = row.values ?? row.record?.values
        let viaHigher = row.via != nil
        let status = values?.status
        let atLeast3 = values.map { $0.maturityModel != .v2 && ($0.maturity ?? 0) >= 3 } ?? false
        let model2 = values?.maturityModel == .v2
        overall.add(status: status, atLeast3: atLeast3, model2: model2, viaHigherLevel: viaHigher)
        units.add(region: row.region, status: status, atLeast3: atLeast3, viaHigherLevel: viaHigher)
        let field = themenfeld[Int(row.service)]
        if field >= 0 && field < perThemenfeld.count {
            perThemenfeld[field].add(status: status, atLeast3: atLeast3, model2: model2, viaHigherLevel: viaHigher)
            themenfeldSeen[field] = true
        }
        if let values, let level = values.maturity, level < 16 {
            maturity[(values.maturityModel ?? .v1).rawValue * 16 + level] += 1
        }
        let position = Int(coverageIndex[Int(row.service)])
        guard position >= 0 else { return }
        solutions.add(values?.solution, region: row.region, service: row.service, reporting: true)
        coverage[position].units += 1
        if status != .notApplicable {
            coverage[position].relevantUnits += 1
            if status == .online { coverage[position].onlineOwn += 1 }
            if status == .online || viaHigher { coverage[position].onlineIncludingHigherLevel += 1 }
        }
    }

    /// Counts a row of a unit above the reporting units (only its solution: see ``SolutionUsage``).
    mutating func addHigherLevel(_ row: CompactRow) {
        solutions.add((row.values ?? row.record?.values)?.solution, region: row.region, service: row.service, reporting: false)
    }

    func summary(orphaned: Int, higherLevelRows: Int) -> ReportSummary {
        let fields = report.catalogue.services
        let themenfelder = perThemenfeld.indices.filter { themenfeldSeen[$0] }.map { number in
            ReportSummary.ThemenfeldCounts(number: number, name: fields.themenfeld(number)?.name ?? "", counts: perThemenfeld[number])
        }
        let buckets = maturity.indices.filter { maturity[$0] > 0 }.map {
            ReportSummary.MaturityBucket(model: $0 / 16, level: $0 % 16, count: maturity[$0])
        }
        var summary = ReportSummary(
            overall: overall, themenfelder: themenfelder, maturity: buckets, services: coverage, orphanedRecords: orphaned,
            higherLevelRows: higherLevelRows)
        summary.solutions = solutions.result(reportingUnits: report.header.units, services: report.catalogue.services.services)
        return summary
    }
}

/// Runs a ``RowMerger`` on its own thread.
///
/// `@unchecked Sendable`: the merger (and through it the store's cursor) is used only by the producing thread
/// until ``wait()`` returns.
final class RowProducer: @unchecked Sendable {
    private let merger: RowMerger
    private let channel: RowChannel
    private let done = DispatchSemaphore(value: 0)
    private var finished = false
    private let lock = NSLock()
    static let chunkSize = 1_024

    init(merger: RowMerger, channel: RowChannel) {
        self.merger = merger
        self.channel = channel
    }

    func run() {
        defer { done.signal() }
        var chunk: [CompactRow] = []
        chunk.reserveCapacity(Self.chunkSize)
        while let row = merger.next() {
            chunk.append(row)
            if chunk.count == Self.chunkSize {
                guard channel.put(chunk) else { return }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { _ = channel.put(chunk) }
        channel.finish()
    }

    /// Waits until the producer has stopped (idempotent).
    func wait() {
        lock.lock()
        defer { lock.unlock() }
        if finished { return }
        done.wait()
        finished = true
    }
}

/// A bounded hand-over of row chunks between two threads.
final class RowChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[CompactRow]] = []
    private var finished = false
    private var cancelled = false
    static let capacity = 8

    /// Hands a chunk on, waiting while the channel is full; `false` when the reading side stopped.
    func put(_ chunk: [CompactRow]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= Self.capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or `nil` at the end.
    func take() -> [CompactRow]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished && !cancelled { condition.wait() }
        if chunks.isEmpty { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Merges the store's records with the grid of reporting units × services, in key order, and accumulates the
/// aggregates; reports them to the ``Report`` at the end of the pass.
/// Merges the store's records with the grid of reporting units × services, in key order.
///
/// It reads only keys, levels and positions of the shared region and service lists (no reference-counted
/// values), so that the thread it runs on shares nothing hot with the one that builds the rows.
final class RowMerger {
    private let report: Report
    private var cursor: (any RecordCursor)?
    private var versions: (any VersionCursor)?
    private var pending: (key: RecordKey, values: RecordValues, batch: Int, record: StoredRecord?)?
    /// The regions of the pass, in key order, and their keys and whether each is a reporting unit.
    let regions: [Region]
    private let regionKeys: [RegionKey]
    private let reporting: [Bool]
    let provenance: [Int: BatchRow]
    private var regionIndex = 0
    private var unit = -1
    private var unitKey = RegionKey(canonical: "")
    private var unitIsReporting = false
    private var servicePointer = 0
    private var providers: [(key: RegionKey, services: ServiceSet)] = []
    private var finished = false
    private let scope: RegionScope
    private let higher: HigherLevelIndex
    /// The services passing the filter: their catalogue positions and IDs.
    private let servicePositions: [Int]
    private let serviceIDs: [OZGID]
    /// The catalogue position of each OZG-ID value, or -1; whether the service at a position passes the filter.
    private let positionByID: [Int32]
    private let included: [Bool]
    private let statuses: Swift.Set<RowStatus>?

    /// Records in scope the loaded editions do not have, and rows of units that are not reporting units.
    private(set) var orphaned = 0
    private(set) var higherLevelRows = 0
    /// The error that ended the pass, if any; whether it ran to the end.
    private(set) var failure: (any Error)?
    private(set) var isComplete = false

    init(report: Report) {
        self.report = report
        scope = report.scope
        higher = report.higher
        servicePositions = report.services.map(\.position)
        serviceIDs = report.services.map(\.service.id)
        statuses = report.query.statuses
        let catalogueServices = report.catalogue.services.services
        var positions = [Int32](repeating: -1, count: 100_000)
        for (position, service) in catalogueServices.enumerated() { positions[service.id.value] = Int32(position) }
        positionByID = positions
        included = catalogueServices.map { [filter = report.query.filter] in filter.includes($0) }
        if let region = scope.region {
            let prefix = RegionKey(canonical: scope.prefix ?? region.key.description)
            regions = report.catalogue.regions.within(prefix).filter { [scope] in scope.contains($0.key) }
        } else {
            regions = report.catalogue.regions.regions
        }
        regionKeys = regions.map(\.key)
        let units = scope.reportingUnits
        if units.count == 1, let only = units.first, only.level != .gemeinde || scope.region?.key == only.key {
            reporting = regions.map { $0.key == only.key }
        } else if scope.region == nil {
            reporting = regions.map { $0.level == .gemeinde }
        } else {
            let keys = Swift.Set(units.map(\.key.description))
            reporting = regions.map { keys.contains($0.key.description) }
        }
        var opened: (any RecordCursor)?
        var failure: (any Error)?
        do {
            opened = try report.reader.records(prefix: scope.prefix, asOf: report.query.asOf)
        } catch {
            failure = error
        }
        cursor = opened
        versions = opened as? any VersionCursor
        provenance = versions?.provenance ?? [:]
        if let failure {
            self.failure = failure
            finished = true
            return
        }
        do {
            try advance()
        } catch {
            self.failure = error
            finished = true
        }
    }

    /// Whether the pass ended before it began (the cursor could not be opened).
    var isFinished: Bool { finished }

    private func advance() throws {
        if let versions {
            pending = try versions.nextVersion().map { ($0.key, $0.values, $0.batch, nil) }
        } else {
            pending = try cursor?.next().map { ($0.key, $0.values, 0, $0) }
        }
    }

    private func position(of id: OZGID) -> Int? {
        let position = positionByID[id.value]
        return position < 0 ? nil : Int(position)
    }

    private func lists(_ status: RowStatus) -> Bool { statuses?.contains(status) ?? true }

    /// The next row (rows of reporting units the status filter leaves out come too, marked not listed: the
    /// aggregates count them).
    func next() -> CompactRow? {
        guard !finished else { return nil }
        do {
            if let row = try step() { return row }
            finished = true
            isComplete = true
        } catch {
            failure = error
            finished = true
        }
        return nil
    }

    private func step() throws -> CompactRow? {
        while true {
            if unit >= 0 {
                if unitIsReporting {
                    while servicePointer < servicePositions.count {
                        let position = servicePositions[servicePointer]
                        let id = serviceIDs[servicePointer]
                        servicePointer += 1
                        var found: (values: RecordValues, batch: Int, record: StoredRecord?)?
                        while let key = pending?.key, key.region == unitKey, key.service <= id {
                            if key.service == id, let taken = pending.take() {
                                found = (taken.values, taken.batch, taken.record)
                            } else if self.position(of: key.service) == nil {
                                orphaned += 1
                            }
                            try advance()
                        }
                        var via: RegionKey?
                        if !providers.isEmpty, found?.values.status != .online {
                            via = providers.first { $0.services.contains(position) }?.key
                        }
                        let status = found.map { RowStatus.recorded($0.values.status) } ?? .untracked
                        return CompactRow(
                            region: Int32(unit), service: Int32(position), values: found?.values, batch: found?.batch ?? 0,
                            record: found?.record, via: via, reporting: true, listed: statuses == nil || lists(status))
                    }
                    while let key = pending?.key, key.region == unitKey {
                        if self.position(of: key.service) == nil { orphaned += 1 }
                        try advance()
                    }
                } else {
                    while let key = pending?.key, key.region == unitKey, let taken = pending.take() {
                        try advance()
                        guard let position = self.position(of: key.service) else {
                            orphaned += 1
                            continue
                        }
                        guard included[position] else { continue }
                        higherLevelRows += 1
                        return CompactRow(
                            region: Int32(unit), service: Int32(position), values: taken.values, batch: taken.batch,
                            record: taken.record, via: nil, reporting: false, listed: lists(.recorded(taken.values.status)))
                    }
                }
                unit = -1
            }
            guard regionIndex < regionKeys.count else {
                while let key = pending?.key {
                    if scope.contains(key.region) { orphaned += 1 }
                    try advance()
                }
                return nil
            }
            let index = regionIndex
            let key = regionKeys[index]
            regionIndex += 1
            while let next = pending?.key, next.region < key {
                if scope.contains(next.region) { orphaned += 1 }
                try advance()
            }
            if reporting[index] {
                unit = index
                unitKey = key
                unitIsReporting = true
                servicePointer = 0
                providers = higher.isEmpty ? [] : higher.providers(above: key)
            } else if pending?.key.region == key {
                unit = index
                unitKey = key
                unitIsReporting = false
            }
        }
    }
}
