package import Foundation

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
    private let channel = RowChannel(capacity: 32)
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
    /// The chunk being handed out and the position of its next row.
    private var chunk = RowChunk()
    private var rowIndex = 0
    private var completed = false
    /// Whether rows are counted in the aggregates (see ``Report/rowsWithoutAggregates()``).
    private let aggregating: Bool

    /// A pass; with `trend`, the pass also counts the report's trend (see ``Report/rows(withTrend:)``); the rows'
    /// values may lack the fields in `omitting` (see ``Report/rows(withTrend:omitting:)``).
    init(report: Report, trend: Bool = false, omitting: Set<RecordField> = [], aggregating: Bool = true) {
        self.report = report
        self.aggregating = aggregating
        // The trend's own reads (the units above the scope) come before the cursor opens.
        var counter: TrendCounter?
        if trend { counter = try? TrendCounter(report: report) }  // on an error trend() reads again and throws it
        let merger = RowMerger(report: report, trend: counter, omitting: omitting)
        self.merger = merger
        aggregator = ReportAggregator(report: report)
        regions = merger.regions
        services = report.catalogue.services.services
        provenance = merger.provenance
        if merger.isFinished {
            producer = nil
            channel.close()
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

    /// Who wrote the batch `id`, when and from where.
    package func batch(_ id: Int) -> BatchRow {
        if let lastBatch, lastBatch.id == id { return lastBatch.row }
        let row = provenance[id] ?? BatchRow.unknown(id)
        lastBatch = (id, row)
        return row
    }

    private func row(_ view: RowView) -> ReportRow {
        let region = regions[view.region]
        let service = services[view.service]
        let record = view.withVersion { version -> StoredRecord? in
            guard let version else { return nil }
            let info = batch(version.pointee.batch)
            return StoredRecord(
                key: RecordKey(region: region.key, service: service.id), values: version.pointee.values,
                updatedAt: info.at, updatedBy: info.actor, source: info.source)
        }
        var row = ReportRow(
            region: region, isReportingUnit: view.isReportingUnit, service: service, record: record, via: view.via)
        row.isListed = view.isListed
        return row
    }

    public func next() -> ReportRow? {
        guard let view = nextView() else { return nil }
        return row(view)
    }

    /// Whether ``nextView()`` also hands out the rows the status filter leaves out (``RowView/isListed`` false),
    /// for exporters that count per unit beside the built-in aggregates.
    package var includesUnlisted = false

    /// Per reporting unit, the counts of the rows passed so far (all of them at the end of the pass).
    package var unitTally: UnitTally { aggregator.units }
    /// The regions of this pass, by the positions ``RowView/region`` refers to.
    package var regionList: [Region] { regions }
    /// The catalogue's services, by the positions ``RowView/service`` refers to.
    package var serviceList: [OZGService] { services }

    /// Calls `body` with the version a row of the current chunk refers to (`nil`: untracked), where its page
    /// keeps it: the pointer is valid during `body` only. Reading in place instead of copying the version (and
    /// counting references to its texts) saved about half of the client's CPU in the national CSV report from
    /// PostgreSQL, together with the positions-only rows (docs/performance.md, session 6).
    @inline(__always)
    func withVersion<Result>(of row: CompactRow, _ body: (UnsafePointer<StoredVersion>?) throws -> Result) rethrows -> Result {
        guard row.page >= 0 else { return try body(nil) }
        return try chunk.pages[Int(row.page)].withUnsafeBufferPointer { page in
            try body(page.baseAddress.map { $0 + Int(row.index) })
        }
    }

    /// Counts a row of the current chunk in the aggregates.
    @inline(__always)
    private func aggregate(_ row: CompactRow) {
        withVersion(of: row) { version in
            if row.reporting {
                aggregator.add(row, version: version, viaHigherLevel: row.via >= 0)
            } else {
                aggregator.addHigherLevel(row, version: version)
            }
        }
    }

    /// Counts every remaining row in the aggregates without handing any out: for exporters that write only
    /// aggregates (``summary()``, ``unitTally``, the trend), which then build no ``RowView`` per row.
    package func aggregateRemaining() {
        while true {
            while rowIndex < chunk.rows.count {
                aggregate(chunk.rows[rowIndex])
                rowIndex += 1
            }
            guard receiveChunk() else { return }
        }
    }

    /// Takes the next chunk from the producer; at the end, records the pass's outcome in the report and returns
    /// `false`.
    private func receiveChunk() -> Bool {
        guard let next = try? channel.receive() else {
            chunk = RowChunk()
            rowIndex = 0
            producer?.wait()
            if !completed {
                completed = true
                if let failure = merger.failure {
                    report.fail(failure)
                } else if merger.isComplete && !aggregating {
                    report.finishWithoutAggregates()
                } else if merger.isComplete {
                    report.finish(
                        aggregator.summary(orphaned: merger.orphaned, higherLevelRows: merger.higherLevelRows),
                        trend: merger.trend?.result())
                }
            }
            return false
        }
        chunk = next
        rowIndex = 0
        return true
    }

    /// The next row as positions and values, without building a ``ReportRow`` (for the built-in exporters,
    /// which format from cached encodings of regions and services; counted in the aggregates like `next()`).
    /// The view is valid until the next call.
    package func nextView() -> RowView? {
        while true {
            while rowIndex < chunk.rows.count {
                let row = chunk.rows[rowIndex]
                rowIndex += 1
                if aggregating { aggregate(row) }
                if row.listed || includesUnlisted {
                    return RowView(row: row, via: row.via >= 0 ? chunk.vias[Int(row.via)] : nil, rows: self)
                }
            }
            guard receiveChunk() else { return nil }
        }
    }
}

/// A row as positions and values, for exporters in this package. Valid until the next ``ReportRows/nextView()``:
/// its version is read in place, in the page the row's chunk holds.
package struct RowView {
    private let row: CompactRow
    package let via: RegionKey?
    /// The pass, which keeps the version's page and the provenance of its batch. (Unowned: a view does not
    /// outlive its pass.)
    private unowned(unsafe) let rows: ReportRows

    init(row: CompactRow, via: RegionKey?, rows: ReportRows) {
        self.row = row
        self.via = via
        self.rows = rows
    }

    /// Calls `body` with the unit's own version (values and batch) where the pass keeps it, `nil` when
    /// untracked; the pointer is valid during `body` only.
    @inline(__always)
    package func withVersion<Result>(_ body: (UnsafePointer<StoredVersion>?) throws -> Result) rethrows -> Result {
        try rows.withVersion(of: row, body)
    }

    /// The unit's own values, if it has a record (a copy; ``withVersion(_:)`` reads them in place).
    package var values: RecordValues? { withVersion { $0?.pointee.values } }
    /// Online by the unit's own record.
    package var isOnline: Bool { withVersion { $0?.pointee.values.status == .online } }

    /// The position of the unit in ``ReportRows/regionList``.
    package var region: Int { Int(row.region) }
    /// The position of the service in ``ReportRows/serviceList``.
    package var service: Int { Int(row.service) }
    package var isReportingUnit: Bool { row.reporting }
    /// Whether the row passes the status filter.
    package var isListed: Bool { row.listed }
    package var isOnlineIncludingHigherLevel: Bool { isOnline || row.via >= 0 }
    /// The id of the batch that wrote the unit's record (`nil` when untracked).
    package var batch: Int? { withVersion { $0?.pointee.batch } }
    /// Who changed the record when and from where (`nil` when untracked).
    package var updatedAt: Date? { batch.map { rows.batch($0).at } }
    package var updatedBy: String? { batch.map { rows.batch($0).actor } }
    package var source: String? { batch.map { rows.batch($0).source } }
}

/// A row as it crosses from the producing thread: positions only (in the pass's region list, the catalogue's
/// service list, the chunk's pages and higher-level units), so that it is small and holds no reference.
struct CompactRow: Sendable {
    var region: Int32
    var service: Int32
    /// The unit's own version: the page's position in ``RowChunk/pages`` (`-1`: untracked) and its position there.
    var page: Int32
    var index: Int32
    /// The unit above that offers the service online: its position in ``RowChunk/vias``, or `-1`.
    var via: Int32
    var reporting: Bool
    var listed: Bool
}

/// Rows handed over together, with the pages of versions they refer to (shared with the producer, not copied)
/// and the keys of the units above that they name.
struct RowChunk: Sendable {
    var rows: [CompactRow] = []
    var pages: [[StoredVersion]] = []
    var vias: [RegionKey] = []
}
