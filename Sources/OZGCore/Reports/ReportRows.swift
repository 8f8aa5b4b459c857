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
    private var chunk: [CompactRow] = []
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

    private func batch(_ id: Int) -> BatchRow {
        if let lastBatch, lastBatch.id == id { return lastBatch.row }
        let row = provenance[id] ?? BatchRow.unknown(id)
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

    /// Whether ``nextView()`` also hands out the rows the status filter leaves out (``RowView/isListed`` false),
    /// for exporters that count per unit beside the built-in aggregates.
    package var includesUnlisted = false

    /// Per reporting unit, the counts of the rows passed so far (all of them at the end of the pass).
    package var unitTally: UnitTally { aggregator.units }
    /// The regions of this pass, by the positions ``RowView/region`` refers to.
    package var regionList: [Region] { regions }
    /// The catalogue's services, by the positions ``RowView/service`` refers to.
    package var serviceList: [OZGService] { services }

    /// Counts every remaining row in the aggregates without handing any out: for exporters that write only
    /// aggregates (``summary()``, ``unitTally``, the trend), which then build no ``RowView`` per row.
    package func aggregateRemaining() {
        while true {
            while let compact = chunk.popLast() {
                if compact.reporting { aggregator.add(compact, services: services) } else { aggregator.addHigherLevel(compact) }
            }
            guard receiveChunk() else { return }
        }
    }

    /// Takes the next chunk from the producer; at the end, records the pass's outcome in the report and returns
    /// `false`.
    private func receiveChunk() -> Bool {
        guard let next = try? channel.receive() else {
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
        chunk.reverse()
        return true
    }

    /// The next row as positions and values, without building a ``ReportRow`` (for the built-in exporters,
    /// which format from cached encodings of regions and services; counted in the aggregates like `next()`).
    package func nextView() -> RowView? {
        while true {
            // The chunk is kept reversed so that rows are moved out, not copied.
            while let compact = chunk.popLast() {
                if aggregating {
                    if compact.reporting { aggregator.add(compact, services: services) } else { aggregator.addHigherLevel(compact) }
                }
                if compact.listed || includesUnlisted {
                    let info = compact.values != nil && compact.record == nil ? batch(compact.batch) : nil
                    return RowView(compact: compact, provenance: info)
                }
            }
            guard receiveChunk() else { return nil }
        }
    }
}

/// A row as positions and values, for exporters in this package.
package struct RowView {
    let compact: CompactRow
    private let provenance: BatchRow?

    init(compact: CompactRow, provenance: BatchRow?) {
        self.compact = compact
        self.provenance = provenance
    }

    /// The unit's own values, if it has a record. (Read from the row, not kept beside it: a second copy of the
    /// values made every view larger and cost reference counting per row.)
    package var values: RecordValues? { compact.values ?? compact.record?.values }
    /// Online by the unit's own record.
    package var isOnline: Bool { (compact.values?.status ?? compact.record?.values.status) == .online }

    /// The position of the unit in ``ReportRows/regionList``.
    package var region: Int { Int(compact.region) }
    /// The position of the service in ``ReportRows/serviceList``.
    package var service: Int { Int(compact.service) }
    package var via: RegionKey? { compact.via }
    package var isReportingUnit: Bool { compact.reporting }
    /// Whether the row passes the status filter.
    package var isListed: Bool { compact.listed }
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
