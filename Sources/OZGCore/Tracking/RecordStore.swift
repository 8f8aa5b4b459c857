public import Foundation

/// The record store over any ``StoreBackend``: every rule of the store, stated once.
///
/// - **History:** every write that changes something is one batch; every state a record had is one version.
/// - **As-of:** the state at a time is, per key, the newest version of the newest batch recorded at or before
///   that time (``BatchTimeline``). The CLI turns a day into its last millisecond, so `--as-of 2025-06-30` is the
///   state at the end of that day.
/// - **Newest version per key:** ``NewestVersionCursor``, the only place it is computed.
/// - **Changes:** a version's old values are those of the version before it of the same key, whenever that was
///   recorded; a change lies in `from ... to` when its batch does.
/// - **Batch clock:** a batch is recorded now (or at the requested time) but never earlier than the latest
///   change: when the clock went back, at the latest change's time; a requested earlier time is an error.
///   Times have whole milliseconds.
/// - **No trace without a change:** the batch is created on the first version; putting a record's current
///   values records nothing.
///
/// The backend gives snapshots, atomic and serialised writes, and ordered streams (see ``StoreBackend``).
public final class RecordStore<Backend: StoreBackend>: TrackingStore {
    /// The database.
    public let backend: Backend

    public init(backend: Backend) {
        self.backend = backend
    }

    public func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T {
        try backend.read { reader in try body(StoreReader(reader)) }
    }

    @discardableResult

    public func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        try backend.write { writer in
            let store = StoreWriter(writer, batch: batch)
            let result = try body(store)
            try store.flush()
            return result
        }
    }
}

// MARK: - Batches in time

/// The batches of a snapshot in time order, and the as-of bound.
public struct BatchTimeline: Sendable {
    /// The batches by increasing id (and so by time).
    public private(set) var batches: [BatchRow]
    /// The batches by id.
    public private(set) var byID: [Int: BatchRow]

    public init(_ batches: [BatchRow]) {
        self.batches = batches
        byID = Dictionary(batches.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    mutating func append(_ batch: BatchRow) {
        batches.append(batch)
        byID[batch.id] = batch
    }

    /// A time in whole milliseconds since 1970, as batches are recorded.
    public static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// `date` cut to whole milliseconds.
    public static func truncated(_ date: Date) -> Date { Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000) }

    /// The id of the newest batch recorded at or before `date` (every batch when `nil`); 0 when there is none.
    public func bound(atOrBefore date: Date?) -> Int {
        guard let date else { return Int.max }
        return bound(below: Self.milliseconds(date) + 1)
    }

    /// The id of the newest batch recorded before `date` (strictly); 0 when there is none.
    public func bound(before date: Date) -> Int { bound(below: Self.milliseconds(date)) }

    /// The id of the newest batch recorded before `milliseconds`; batch times never decrease with their ids.
    private func bound(below milliseconds: Int) -> Int {
        var low = 0
        var high = batches.count
        while low < high {
            let middle = (low + high) / 2
            if Self.milliseconds(batches[middle].at) < milliseconds { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? 0 : batches[low - 1].id
    }
}

// MARK: - Reading

/// The reader ``RecordStore`` hands out: the store's rules over a backend's reader.
class StoreReader<Reader: BackendReader>: TrackingReader {
    let backend: Reader
    private var loadedTimeline: BatchTimeline?
    /// The batch of the last record built: consecutive records mostly share one.
    private var lastBatch: BatchRow?

    init(_ backend: Reader) { self.backend = backend }

    /// Called before every read (a writer sends what it buffered first).
    func prepareRead() throws {}

    var timeline: BatchTimeline {
        get throws {
            if let loadedTimeline { return loadedTimeline }
            let loaded = BatchTimeline(try backend.batches())
            loadedTimeline = loaded
            return loaded
        }
    }

    func noteAppended(_ batch: BatchRow) {
        loadedTimeline?.append(batch)
    }

    func stored(_ version: StoredVersion) throws -> StoredRecord {
        let info: BatchRow
        if let lastBatch, lastBatch.id == version.batch {
            info = lastBatch
        } else {
            info = try timeline.byID[version.batch] ?? BatchRow.unknown(version.batch)
            lastBatch = info
        }
        return StoredRecord(
            key: version.key, values: version.values, updatedAt: info.at, updatedBy: info.actor, source: info.source)
    }

    func isEmpty() throws -> Bool {
        try prepareRead()
        return try !backend.hasVersions()
    }

    func currentVersion(_ key: RecordKey, asOf: Date?) throws -> StoredVersion? {
        try prepareRead()
        // The present needs no batch list: the newest version is the current one.
        let bound = asOf == nil ? Int.max : try timeline.bound(atOrBefore: asOf)
        guard bound > 0 else { return nil }
        return try backend.latestVersion(of: key, maxBatch: bound)
    }

    func current(_ key: RecordKey, asOf: Date?) throws -> StoredRecord? {
        try currentVersion(key, asOf: asOf).map(stored)
    }

    func records(prefix: String?, asOf: Date?) throws -> any RecordCursor {
        try records(prefix: prefix, asOf: asOf, omitting: [])
    }

    func records(prefix: String?, asOf: Date?, omitting: Set<RecordField>) throws -> any RecordCursor {
        try prepareRead()
        // Everything the backend needs happens here, on the caller's thread: a report may step the cursor from a
        // thread of its own (see ReportRows).
        let timeline = try timeline
        let bound = timeline.bound(atOrBefore: asOf)
        let selection = VersionSelection(
            regions: prefix.map { .prefix($0) } ?? .all, maxBatch: bound == .max ? nil : bound, omitting: omitting)
        return NewestVersionCursor(try backend.versions(selection), provenance: timeline.byID)
    }

    func forEachHigherLevelRecord(asOf: Date?, _ body: (StoredRecord) throws -> Void) throws {
        try prepareRead()
        let bound = try timeline.bound(atOrBefore: asOf)
        let cursor = NewestVersionCursor(
            try backend.versions(VersionSelection(regions: .higherLevels, maxBatch: bound == .max ? nil : bound)),
            provenance: try timeline.byID)
        while let record = try cursor.next() { try body(record) }
    }

    func forEachChange(
        prefix: String?, exact: Bool, service: OZGID?, from: Date?, to: Date?, _ body: (RecordChange) throws -> Void
    ) throws {
        try prepareRead()
        let regions: VersionSelection.Regions
        switch (prefix, exact) {
        case (nil, false): regions = .all
        case (nil, true): return
        case (let prefix?, false): regions = .prefix(prefix)
        case (let prefix?, true):
            guard let key = try? RegionKey(prefix) else { return }
            regions = .exact(key)
        }
        let timeline = try timeline
        // Changes at `from ... to`: batches after the newest one before `from`, up to the newest at or before `to`.
        let lower = from.map { timeline.bound(before: $0) } ?? 0
        let upper = timeline.bound(atOrBefore: to)
        let stream = try backend.versions(VersionSelection(regions: regions, service: service, maxBatch: upper == .max ? nil : upper))
        // The old values of a change are those of the key's previous version, even when it is older than `from`.
        var previous: StoredVersion?
        while let version = try stream.next() {
            let old = previous?.key == version.key ? previous?.values : nil
            previous = version
            guard version.batch > lower, version.batch <= upper, let info = timeline.byID[version.batch] else { continue }
            try body(
                RecordChange(
                    key: version.key, old: old, new: version.values, at: info.at, actor: info.actor, source: info.source))
        }
    }

    func latestChange() throws -> Date? {
        try prepareRead()
        return try backend.latestBatch()?.at
    }
}

extension BatchRow {
    /// Stands in for a batch a damaged store lost.
    static func unknown(_ id: Int) -> BatchRow {
        BatchRow(id: id, at: Date(timeIntervalSince1970: 0), actor: "", source: "", command: "")
    }
}

/// Walks a backend's versions in key order and hands out the newest of each key: the state at the stream's
/// batch bound.
public final class NewestVersionCursor<Stream: VersionStream>: RecordCursor {
    private let stream: Stream
    private var pending: StoredVersion?
    private var done = false
    public let provenance: [Int: BatchRow]
    /// The batch of the last record built.
    private var lastBatch: BatchRow?
    /// Called with every version read from the stream, in its order (see ``VersionHistoryCursor``).
    private var everyVersion: ((StoredVersion) -> Void)?

    public init(_ stream: Stream, provenance: [Int: BatchRow]) {
        self.stream = stream
        self.provenance = provenance
    }

    public func nextVersion() throws -> StoredVersion? {
        while !done {
            guard let version = try stream.next() else {
                done = true
                break
            }
            everyVersion?(version)
            // The pending version is moved out, not copied (a copy retains and releases its texts).
            if let key = pending?.key, key != version.key {
                let previous = pending.take()
                pending = version
                return previous
            }
            pending = version
        }
        guard let last = pending else { return nil }
        pending = nil
        return last
    }

    public func next() throws -> StoredRecord? {
        guard let version = try nextVersion() else { return nil }
        let info: BatchRow
        if let lastBatch, lastBatch.id == version.batch {
            info = lastBatch
        } else {
            info = provenance[version.batch] ?? BatchRow.unknown(version.batch)
            lastBatch = info
        }
        return StoredRecord(
            key: version.key, values: version.values, updatedAt: info.at, updatedBy: info.actor, source: info.source)
    }
}

/// A cursor that can show every version it reads, not only the newest per key: a report counts its trend from
/// them in its one pass (``TrendCounter``) instead of reading the history again. Cursors that cannot (a wrapper
/// in a test, another implementation of ``TrackingReader``) simply do not conform; the report then reads the
/// change stream separately, as before.
protocol VersionHistoryCursor: AnyObject {
    /// Calls `body` with every version of the cursor's selection it reads from now on, in key order and, per key,
    /// in batch order (each once; the newest of a key is also handed out by ``RecordCursor/nextVersion()``).
    func observeEveryVersion(_ body: @escaping (StoredVersion) -> Void)
}

extension NewestVersionCursor: VersionHistoryCursor {
    func observeEveryVersion(_ body: @escaping (StoredVersion) -> Void) { everyVersion = body }
}

/// A cursor that hands out the newest version of each key a page at a time (see ``VersionStream/nextPage(_:)``).
protocol PagedVersionCursor: AnyObject {
    /// Replaces `page` with the newest versions of the next keys, in key order, and returns `true` (`page` is
    /// empty at the end); `false` when the stream has no pages (then read with ``RecordCursor/nextVersion()``).
    func nextNewestPage(_ page: inout [StoredVersion]) throws -> Bool
}

extension NewestVersionCursor: PagedVersionCursor {
    func nextNewestPage(_ page: inout [StoredVersion]) throws -> Bool {
        guard pending == nil, try stream.nextPage(&page) else { return false }
        if let everyVersion { for version in page { everyVersion(version) } }
        // Keep the last (newest) version of each run of one key; a page holds every version of its keys.
        var superseded = false
        if page.count > 1 {
            for index in 1..<page.count where Self.sameKey(page[index - 1], page[index]) {
                superseded = true
                break
            }
        }
        if superseded {
            var newest: [StoredVersion] = []
            newest.reserveCapacity(page.count)
            for index in page.indices where index + 1 == page.count || !Self.sameKey(page[index], page[index + 1]) {
                newest.append(page[index])
            }
            page = newest
        }
        return true
    }

    private static func sameKey(_ a: StoredVersion, _ b: StoredVersion) -> Bool {
        a.key.service == b.key.service && a.key.region == b.key.region
    }
}

/// A reader that can leave out fields its caller does not need (``VersionSelection/omitting``): a report that
/// shows only aggregates (the HTML page of many units) reads no URLs, notes or dates. Readers that cannot simply
/// do not conform; the report then reads every field, as before.
protocol FieldSelectingReader: TrackingReader {
    /// As ``TrackingReader/records(prefix:asOf:)``; the cursor's versions may have `nil` in the omitted fields.
    func records(prefix: String?, asOf: Date?, omitting: Set<RecordField>) throws -> any RecordCursor
}

extension StoreReader: FieldSelectingReader {}

/// A reader that can be told which records are read next (``BackendReader/prefetch(_:maxBatch:)``): an import into a
/// filled store names each chunk's keys before it reads their current values. Readers that cannot simply do not
/// conform; the import then reads record by record, as before.
protocol LookAheadReader: TrackingReader {
    /// `keys` are about to be read with `current(_:asOf: nil)` (in any order, each about once). Changes nothing the
    /// reads return; writes of these keys made afterwards in the same transaction are seen as always.
    func willReadCurrent(_ keys: [RecordKey]) throws
}

extension StoreReader: LookAheadReader {
    func willReadCurrent(_ keys: [RecordKey]) throws {
        // A writer hands its buffered versions to the backend first, which then knows whether the keys have
        // versions on their way.
        try prepareRead()
        try backend.prefetch(keys, maxBatch: .max)
    }
}

// MARK: - Writing

/// The writer ``RecordStore`` hands out: creates the batch on the first change, keeps the batch clock, skips
/// writes that change nothing, and sends versions to the backend in bulk.
final class StoreWriter<Writer: BackendWriter>: StoreReader<Writer>, TrackingWriter {
    private let batch: BatchInfo
    private var batchID: Int?
    private var buffer: [StoredVersion] = []
    /// Versions sent at once (a server database sends each bulk in one `COPY`).
    static var bulkSize: Int { 4_096 }

    init(_ backend: Writer, batch: BatchInfo) {
        self.batch = batch
        super.init(backend)
    }

    override func prepareRead() throws { try flush() }

    /// Sends the buffered versions to the backend.
    func flush() throws {
        guard !buffer.isEmpty else { return }
        try backend.append(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Creates the batch on the first change, so that a write that changes nothing leaves no trace. Its time is
    /// now (or the requested time), but never earlier than the latest change.
    func openBatch() throws -> Int {
        if let batchID { return batchID }
        var at = BatchTimeline.truncated(batch.at ?? Date())
        if let latest = try backend.latestBatch()?.at, at < latest {
            if let requested = batch.at {
                throw InputError(
                    field: "recorded-at",
                    message: "'\(Timestamp.string(requested))' is earlier than the latest recorded change "
                        + "(\(Timestamp.string(latest))): expected a later time, history is only appended to")
            }
            at = latest  // the clock went back: keep times in order
        }
        let id = try backend.appendBatch(NewBatch(at: at, actor: batch.actor, source: batch.source, command: batch.command))
        batchID = id
        noteAppended(BatchRow(id: id, at: at, actor: batch.actor, source: batch.source, command: batch.command))
        buffer.reserveCapacity(Self.bulkSize)
        return id
    }

    func put(_ key: RecordKey, _ values: RecordValues) throws -> Bool {
        let current = try currentVersion(key, asOf: nil)
        if let current, let batchID, current.batch == batchID {
            if current.values == values { return false }
            throw StoreError("\(key) was given two different states in one write: a record changes at most once per write")
        }
        return try put(key, values, current: current?.values)
    }

    /// `values` is moved into the buffer: copied (as a borrowed parameter must be), each of its texts was retained
    /// here and released again at the flush — `swift_retain` in the put alone was 5 % of a national PostgreSQL
    /// import's client samples (`perf record`, 5,988,307 rows; the texts were made on the reading thread, so every
    /// count change moved a cache line between the cores).
    func put(_ key: RecordKey, _ values: consuming RecordValues, current: RecordValues?) throws -> Bool {
        if let current, current == values { return false }
        let id = try openBatch()
        buffer.append(StoredVersion(key: key, values: values, batch: id))
        if buffer.count >= Self.bulkSize { try flush() }
        return true
    }
}
