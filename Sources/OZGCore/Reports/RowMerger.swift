import Foundation

/// Merges the store's records with the grid of reporting units × services, in key order.
///
/// It reads only keys, levels and positions of the shared region and service lists (no reference-counted
/// values), so that the thread it runs on shares nothing hot with the one that builds the rows.
final class RowMerger {
    private let report: Report
    private var cursor: (any RecordCursor)?
    /// The cursor again when it hands out pages (``PagedVersionCursor``).
    private var pagedCursor: (any PagedVersionCursor)?
    /// The versions being merged, and the position of the next one not yet merged (none when `pageIndex` is
    /// `page.count`: the end). Versions are not copied out of their page: a row refers to its version by the page's
    /// position in the row's chunk (``RowChunk/pages``, which shares the page's storage) and the version's position
    /// in the page, and the formatting thread reads the values there. Measured (national CSV report from
    /// PostgreSQL, release build, `perf record`): with each version copied into a 146-byte row, and that row into a
    /// `RowView`, `memmove` was 14.8 % and reference counting of the values' strings ≈ 15 % of the client's CPU.
    private var page: [StoredVersion] = []
    private var pageIndex = 0
    /// The position of `page` in the chunk being filled (`-1`: not in it yet).
    private var pageInChunk: Int32 = -1
    private var pagesEnded = false
    /// A cursor without pages is read in pages of this many versions here.
    private static let versionsPerPage = 512
    /// An error of such a cursor after the versions read before it: thrown once they are merged.
    private var deferredFailure: (any Error)?
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
            try nextPage()
        } catch {
            self.failure = error
            finished = true
        }
    }

    /// Whether the pass ended before it began (the cursor could not be opened).
    var isFinished: Bool { finished }

    /// Moves to the next version, reading the next page when this one is merged.
    private func advance() throws {
        pageIndex += 1
        if pageIndex >= page.count { try nextPage() }
    }

    /// Replaces `page` with the next versions (empty at the end).
    private func nextPage() throws {
        pageIndex = 0
        pageInChunk = -1
        if pagesEnded {
            page = []
            return
        }
        if let paged = pagedCursor {
            if try paged.nextNewestPage(&page) {
                if page.isEmpty { pagesEnded = true }
                return
            }
            // The stream has no pages (nothing was read yet): version by version, gathered in pages here.
            pagedCursor = nil
        }
        if let deferredFailure {
            self.deferredFailure = nil
            page = []
            throw deferredFailure
        }
        var versions: [StoredVersion] = []
        versions.reserveCapacity(Self.versionsPerPage)
        do {
            while versions.count < Self.versionsPerPage, let version = try cursor?.nextVersion() { versions.append(version) }
        } catch {
            // The versions read before the error are merged first, as they were when read one by one.
            if versions.isEmpty { throw error }
            deferredFailure = error
        }
        if versions.isEmpty && deferredFailure == nil { pagesEnded = true }
        page = versions
    }

    /// Whether a version is waiting to be merged.
    private var hasPending: Bool { pageIndex < page.count }

    /// The waiting version's position for a row of `chunk`: its page is added to the chunk (by reference) first.
    private func pin(in chunk: inout RowChunk) -> (page: Int32, index: Int32) {
        if pageInChunk < 0 || Int(pageInChunk) >= chunk.pages.count {
            pageInChunk = Int32(chunk.pages.count)
            chunk.pages.append(page)
        }
        return (pageInChunk, Int32(pageIndex))
    }

    private func position(of id: OZGID) -> Int? {
        let position = positionByID[id.value]
        return position < 0 ? nil : Int(position)
    }

    private func lists(_ status: RowStatus) -> Bool { statuses?.contains(status) ?? true }

    /// Appends the next row to `chunk` (rows of reporting units the status filter leaves out come too, marked
    /// not listed: the aggregates count them); `false` at the end.
    ///
    /// The row is built in place at the end of the chunk rather than returned: a returned row was copied several
    /// more times on its way into the chunk, and those copies were 8 % of a national HTML report's samples
    /// (`perf record`, release build, history database).
    func next(into chunk: inout RowChunk) -> Bool {
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

    private func step(into chunk: inout RowChunk) throws -> Bool {
        while true {
            if unit >= 0 {
                if unitIsReporting {
                    while servicePointer < servicePositions.count {
                        let position = servicePositions[servicePointer]
                        let id = serviceIDs[servicePointer]
                        servicePointer += 1
                        var found: (page: Int32, index: Int32) = (-1, 0)
                        var status: Status?
                        while hasPending, page[pageIndex].key.region == unitKey, page[pageIndex].key.service <= id {
                            let service = page[pageIndex].key.service
                            if service == id {
                                found = pin(in: &chunk)
                                status = page[pageIndex].values.status
                            } else if self.position(of: service) == nil {
                                orphaned += 1
                            }
                            try advance()
                        }
                        var via: Int32 = -1
                        if !providers.isEmpty, status != .online,
                            let provider = providers.first(where: { $0.services.contains(position) })?.key
                        {
                            via = Int32(chunk.vias.count)
                            chunk.vias.append(provider)
                        }
                        let rowStatus: RowStatus = if let status { .recorded(status) } else { .untracked }
                        chunk.rows.append(
                            CompactRow(
                                region: Int32(unit), service: Int32(position), page: found.page, index: found.index,
                                via: via, reporting: true, listed: statuses == nil || lists(rowStatus)))
                        return true
                    }
                    while hasPending, page[pageIndex].key.region == unitKey {
                        if self.position(of: page[pageIndex].key.service) == nil { orphaned += 1 }
                        try advance()
                    }
                } else {
                    while hasPending, page[pageIndex].key.region == unitKey {
                        let service = page[pageIndex].key.service
                        let status = page[pageIndex].values.status
                        let found = pin(in: &chunk)
                        try advance()
                        guard let position = self.position(of: service) else {
                            orphaned += 1
                            continue
                        }
                        guard included[position] else { continue }
                        higherLevelRows += 1
                        chunk.rows.append(
                            CompactRow(
                                region: Int32(unit), service: Int32(position), page: found.page, index: found.index,
                                via: -1, reporting: false, listed: lists(.recorded(status))))
                        return true
                    }
                }
                unit = -1
            }
            guard regionIndex < regionKeys.count else {
                while hasPending {
                    if scope.contains(page[pageIndex].key.region) { orphaned += 1 }
                    try advance()
                }
                return false
            }
            let index = regionIndex
            let key = regionKeys[index]
            regionIndex += 1
            while hasPending, page[pageIndex].key.region < key {
                if scope.contains(page[pageIndex].key.region) { orphaned += 1 }
                try advance()
            }
            if reporting[index] {
                unit = index
                unitKey = key
                unitIsReporting = true
                servicePointer = 0
                providers = higher.isEmpty ? [] : higher.providers(above: key)
            } else if hasPending, page[pageIndex].key.region == key {
                unit = index
                unitKey = key
                unitIsReporting = false
            }
        }
    }
}
