import Foundation

/// Merges the store's records with the grid of reporting units × services, in key order.
///
/// It reads only keys, levels and positions of the shared region and service lists (no reference-counted
/// values), so that the thread it runs on shares nothing hot with the one that builds the rows.
final class RowMerger {
    private let report: Report
    private var cursor: (any RecordCursor)?
    /// The cursor's next version, not yet merged. Kept as the cursor hands it out (no wider tuple): rows and
    /// versions are copied several times on their way, and the copies showed in `perf record` (see `next(into:)`).
    private var pending: StoredVersion?
    /// The cursor again when it hands out pages (``PagedVersionCursor``): `pending` is then copied from `page`
    /// rather than passed up version by version through the cursor and its stream.
    private var pagedCursor: (any PagedVersionCursor)?
    private var page: [StoredVersion] = []
    private var pageIndex = 0
    private var pagesEnded = false
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

    /// The trend counted from every version the cursor reads (when asked for and the cursor can show them).
    private(set) var trend: TrendCounter?

    /// Opens the cursor. `trend`, when given, is fed every version the cursor reads, on the producing thread.
    init(report: Report, trend: TrendCounter? = nil, omitting: Set<RecordField> = []) {
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
            if !omitting.isEmpty, let reader = report.reader as? any FieldSelectingReader {
                opened = try reader.records(prefix: scope.prefix, asOf: report.query.asOf, omitting: omitting)
            } else {
                opened = try report.reader.records(prefix: scope.prefix, asOf: report.query.asOf)
            }
        } catch {
            failure = error
        }
        cursor = opened
        pagedCursor = opened as? any PagedVersionCursor
        provenance = opened?.provenance ?? [:]
        if let trend, let history = opened as? any VersionHistoryCursor {
            trend.start(batches: provenance)
            history.observeEveryVersion { trend.add($0) }
            self.trend = trend
        }
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
        if let paged = pagedCursor {
            while pageIndex >= page.count {
                if pagesEnded {
                    pending = nil
                    return
                }
                guard try paged.nextNewestPage(&page) else {
                    // The stream has no pages (nothing was read yet): version by version.
                    pagedCursor = nil
                    pending = try cursor?.nextVersion()
                    return
                }
                pageIndex = 0
                if page.isEmpty { pagesEnded = true }
            }
            pending = page[pageIndex]
            pageIndex += 1
            return
        }
        pending = try cursor?.nextVersion()
    }

    private func position(of id: OZGID) -> Int? {
        let position = positionByID[id.value]
        return position < 0 ? nil : Int(position)
    }

    private func lists(_ status: RowStatus) -> Bool { statuses?.contains(status) ?? true }

    /// Appends the next row to `chunk` (rows of reporting units the status filter leaves out come too, marked
    /// not listed: the aggregates count them); `false` at the end.
    ///
    /// The row is built in place at the end of the chunk rather than returned: a returned `CompactRow?` (about
    /// 150 bytes) was copied four more times on its way into the chunk, and those copies were 8 % of a national
    /// HTML report's samples (`perf record`, release build, history database).
    func next(into chunk: inout [CompactRow]) -> Bool {
        guard !finished else { return false }
        do {
            if try step(into: &chunk) { return true }
            finished = true
            isComplete = true
        } catch {
            failure = error
            finished = true
        }
        return false
    }

    private func step(into chunk: inout [CompactRow]) throws -> Bool {
        while true {
            if unit >= 0 {
                if unitIsReporting {
                    while servicePointer < servicePositions.count {
                        let position = servicePositions[servicePointer]
                        let id = serviceIDs[servicePointer]
                        servicePointer += 1
                        var found: StoredVersion?
                        while let key = pending?.key, key.region == unitKey, key.service <= id {
                            if key.service == id, let taken = pending.take() {
                                found = taken
                            } else if self.position(of: key.service) == nil {
                                orphaned += 1
                            }
                            try advance()
                        }
                        var via: RegionKey?
                        if !providers.isEmpty, found?.values.status != .online {
                            via = providers.first { $0.services.contains(position) }?.key
                        }
                        let status: RowStatus = if let recorded = found?.values.status { .recorded(recorded) } else { .untracked }
                        chunk.append(
                            CompactRow(
                                region: Int32(unit), service: Int32(position), values: found?.values,
                                batch: found?.batch ?? 0, record: nil, via: via, reporting: true,
                                listed: statuses == nil || lists(status)))
                        return true
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
                        chunk.append(
                            CompactRow(
                                region: Int32(unit), service: Int32(position), values: taken.values, batch: taken.batch,
                                record: nil, via: nil, reporting: false, listed: lists(.recorded(taken.values.status))))
                        return true
                    }
                }
                unit = -1
            }
            guard regionIndex < regionKeys.count else {
                while let key = pending?.key {
                    if scope.contains(key.region) { orphaned += 1 }
                    try advance()
                }
                return false
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
