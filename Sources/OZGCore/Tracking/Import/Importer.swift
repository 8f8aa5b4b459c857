import Foundation

/// What an import did, or would do.
public struct ImportSummary: Sendable, Hashable, Encodable {
    /// Rows read (after a dashboard file is grouped: one per record).
    public var rows = 0
    /// Records that did not exist before.
    public var inserted = 0
    /// Records whose values change.
    public var updated = 0
    /// Records that already hold these values: nothing is written for them.
    public var unchanged = 0
    /// Rows skipped (unknown keys with `--skip-unknown`, inactive dashboard entries).
    public var skipped = 0
    /// Why rows were skipped (the first few).
    public var warnings: [String] = []
    /// Whether this was a dry run (nothing written).
    public var dryRun = false
    /// What a dashboard import found beside the records (`nil` for other formats).
    public var dashboard: DashboardSummary?

    /// The number of records written.
    public var written: Int { dryRun ? 0 : inserted + updated }
}

/// What `set` did to one record.
public struct SetOutcome: Sendable, Hashable {
    /// `true` when values changed (or the record was created), `false` when they were already stored.
    public var changed: Bool
    /// Whether the record did not exist before.
    public var created: Bool
    /// The record as stored afterwards.
    public var record: StoredRecord?
}

/// Applies rows to the store: validates every row, merges it with the stored record, and writes the
/// inserts and updates in one transaction — all of them, or none when any row is bad.
public enum Importer {
    /// How many row errors are kept for the report (all are counted).
    public static let errorLimit = 50

    /// Imports `sources` in one transaction.
    /// - Parameters:
    ///   - sources: the inputs, read in order; together they are one import.
    ///   - store: where to write.
    ///   - batch: who imports, from where, when.
    ///   - validator: checks values against the loaded catalogue and registry.
    ///   - dryRun: validate and count, write nothing.
    ///   - progress: called with the number of rows read so far, every 100,000 rows.
    /// - Throws: ``InputErrors`` listing the bad rows (nothing is written then), an ``InputError`` for a
    ///   file that cannot be read at all, or a ``StoreError``.
    public static func run(
        _ sources: [any RecordSource], into store: any TrackingStore, batch: BatchInfo, validator: RecordValidator,
        dryRun: Bool = false, progress: ((Int) -> Void)? = nil
    ) throws -> ImportSummary {
        if dryRun {
            return try store.read { reader in
                try plan(sources, reader: reader, writer: nil, validator: validator, dryRun: true, progress: progress)
            }
        }
        return try store.write(batch) { writer in
            try plan(sources, reader: writer, writer: writer, validator: validator, dryRun: false, progress: progress)
        }
    }

    /// One row on its way from the reading stage to the writing stage.
    ///
    /// Kept small (a chunk holds 4,096 of them): a row for an empty store carries only its key and complete
    /// values, not its ``ImportRow`` (file name, line, update), which nothing reads after the reading stage.
    enum Planned: Sendable {
        /// A bad row, with its place.
        case failure(InputError)
        /// A row for a store that holds records: the writing stage merges it with the stored record.
        case row(ImportRow)
        /// A new record of an empty store, complete already (nothing to merge with).
        case new(RecordKey, RecordValues)
        /// New records of an empty store, encoded in the backend's format (``BulkRowEncoder``): a page and its
        /// number of rows.
        case encoded(any EncodedRows, Int)
    }

    /// Reads, validates and plans rows on a thread of its own, while the calling thread merges them with the
    /// store and writes: on two cores the national import then takes about as long as its slower half, not
    /// the sum of both (see docs/performance.md).
    private static func plan(
        _ sources: [any RecordSource], reader: any TrackingReader, writer: (any TrackingWriter)?,
        validator: RecordValidator, dryRun: Bool, progress: ((Int) -> Void)?
    ) throws -> ImportSummary {
        var summary = ImportSummary()
        summary.dryRun = dryRun
        var errors: [InputError] = []
        var errorCount = 0
        // A store without records needs no look-ups: every row is new (the national first load).
        let empty = try reader.isEmpty()
        func fail(_ error: InputError) {
            errorCount += 1
            if errors.count < errorLimit { errors.append(error) }
        }
        func counted() {
            summary.rows += 1
            if let progress, summary.rows % 100_000 == 0 { progress(summary.rows) }
        }
        // An empty store whose backend encodes bulk loads itself gets its rows encoded by the reading stage.
        let bulkWriter = writer as? any BulkLoadingWriter
        let openEncoder = empty && bulkWriter?.encodesBulkLoads == true ? bulkWriter?.openBulkEncoder : nil
        // Encoded, each chunk carries a page of rows (4 MB for PostgreSQL), and the writer holds one more and has one
        // on its way: eight waiting took the national import's peak memory from 161 to 221 MB, two to 186–196 MB.
        let channel = PlannedChannel(capacity: openEncoder == nil ? ReadingStage.capacity : ReadingStage.encodedCapacity)
        let pool = ChunkPool()
        let stage = ReadingStage(sources: sources, empty: empty, channel: channel, pool: pool, openEncoder: openEncoder)
        // A filled store is told each chunk's keys before they are read (a server database then fetches their current
        // values in one round trip per chunk instead of one per row). An empty store is never read.
        let lookAhead = empty ? nil : reader as? any LookAheadReader
        Thread.detachNewThread { stage.run() }
        defer {
            channel.cancel()
            stage.wait()
        }
        while let chunk = try channel.receive() {
            if let lookAhead, !chunk.lookUps.isEmpty { try lookAhead.willReadCurrent(chunk.lookUps) }
            try chunk.drain { item throws in
                let row: ImportRow
                switch consume item {
                case .failure(let error):
                    fail(error)
                    return
                case .new(let key, let values):
                    counted()
                    summary.inserted += 1
                    if errorCount == 0, let writer { try writer.put(key, values, current: nil) }
                    return
                case .encoded(let page, let rows):
                    for _ in 0..<rows { counted() }
                    summary.inserted += rows
                    if errorCount == 0, let bulkWriter { try bulkWriter.append(encoded: page, rows: rows) }
                    return
                case .row(let value):
                    row = value
                }
                counted()
                let current = try reader.current(row.key, asOf: nil)
                let values: RecordValues
                do throws(InputError) {
                    values = try row.update.applied(to: current?.values)
                } catch {
                    fail(error.located(file: row.file, line: row.line))
                    return
                }
                if let current, current.values == values {
                    summary.unchanged += 1
                    return
                }
                if current == nil { summary.inserted += 1 } else { summary.updated += 1 }
                if errorCount == 0, let writer { try writer.put(row.key, values, current: current?.values) }
            }
            pool.give(chunk)
        }
        stage.wait()
        for case let source as any ImportSummaryContributor in sources { source.contribute(to: &summary) }
        summary.skipped += validator.skippedCount
        summary.warnings = validator.warnings
        if errorCount > 0 { throw InputErrors(errors: errors, total: errorCount) }
        return summary
    }

    /// Applies one update (the `set` command): writes only if something changes.
    public static func set(
        _ key: RecordKey, _ update: RecordUpdate, into store: any TrackingStore, batch: BatchInfo, dryRun: Bool = false
    ) throws -> SetOutcome {
        func apply(_ reader: any TrackingReader, _ writer: (any TrackingWriter)?) throws -> SetOutcome {
            let current = try reader.current(key, asOf: nil)
            let values = try update.applied(to: current?.values)
            if let current, current.values == values { return SetOutcome(changed: false, created: false, record: current) }
            try writer?.put(key, values, current: current?.values)
            let record = try writer.map { try $0.current(key, asOf: nil) } ?? nil
            return SetOutcome(changed: true, created: current == nil, record: record)
        }
        if dryRun { return try store.read { try apply($0, nil) } }
        return try store.write(batch) { try apply($0, $0) }
    }
}

/// The reading stage of an import: runs the sources, finds repeated records, completes rows for an empty store,
/// and hands rows on in chunks.
///
/// `@unchecked Sendable`: the sources (and the validator they use) are touched only by this stage's thread
/// until ``wait()`` returns; the channel is thread-safe. `openEncoder` (it opens the write's batch through the
/// store writer) is called by this stage's thread at most once, before it sends the first row that is to be
/// written: until the writing thread receives that row it touches no store writer (it only counts the bad rows
/// that came before), and the channel's lock orders the two threads.
final class ReadingStage: @unchecked Sendable {
    private let sources: [any RecordSource]
    private let empty: Bool
    private let channel: PlannedChannel
    private let pool: ChunkPool
    private let openEncoder: (() throws -> any BulkRowEncoder)?
    private let done = DispatchSemaphore(value: 0)
    private var waited = false
    static let chunkSize = 4_096
    /// At most this many chunks wait for the writing stage.
    static let capacity = 8
    /// At most this many chunks wait when rows are encoded (each chunk then carries a page of rows).
    static let encodedCapacity = 1

    init(
        sources: [any RecordSource], empty: Bool, channel: PlannedChannel, pool: ChunkPool,
        openEncoder: (() throws -> any BulkRowEncoder)? = nil
    ) {
        self.sources = sources
        self.empty = empty
        self.channel = channel
        self.pool = pool
        self.openEncoder = openEncoder
    }

    func run() {
        defer { done.signal() }
        var collector = Collector(empty: empty, channel: channel, pool: pool, openEncoder: openEncoder)
        do {
            for source in sources {
                if let direct = source as? any DirectRecordSource {
                    try direct.forEachRow(into: &collector)
                    continue
                }
                try source.forEachRow { result in
                    switch result {
                    case .failure(let error): try collector.failure(error)
                    case .success(let row): try collector.row(row.key, row.update, file: row.file, line: row.line)
                    }
                }
            }
            try collector.finish()
            channel.close()
        } catch {
            channel.close(error: error)
        }
    }

    /// Waits until the stage has stopped (idempotent).
    func wait() {
        if waited { return }
        done.wait()
        waited = true
    }

    /// Finds repeated records, completes rows for an empty store, and hands rows on in chunks.
    ///
    /// A struct held in a local of ``run()``, so that the hot path pays no dynamic exclusivity checks.
    struct Collector: ImportRowSink {
        private var duplicates = DuplicateDetector()
        private var chunk: PlannedChunk
        private let empty: Bool
        private let channel: PlannedChannel
        private let pool: ChunkPool
        /// Packs the rows' regions (they come region by region: no packing per row).
        private var regions = RegionPacker()
        /// Opens the batch and the encoder at the first row to write (`nil` once used, or when rows go as values).
        private var openEncoder: (() throws -> any BulkRowEncoder)?
        private var encoder: (any BulkRowEncoder)?

        init(empty: Bool, channel: PlannedChannel, pool: ChunkPool, openEncoder: (() throws -> any BulkRowEncoder)?) {
            self.empty = empty
            self.channel = channel
            self.pool = pool
            self.openEncoder = openEncoder
            chunk = pool.take()
        }

        /// Adds a new record of an empty store: to the encoder's page when there is one, else as values.
        private mutating func new(_ key: RecordKey, _ values: consuming RecordValues) throws {
            if let openEncoder {
                // The first row to write (no bad row came before it: the writing stage would write nothing).
                self.openEncoder = nil
                encoder = try openEncoder()
            }
            guard let encoder else { return chunk.append(.new(key, values)) }
            if let full = encoder.append(key, values) {
                chunk.append(.encoded(full.page, full.rows))
                // The writing stage gets each page as soon as it is full.
                try channel.send(chunk)
                chunk = pool.take()
            }
        }

        /// Adds a bad row; rows after it are never written.
        private mutating func failed(_ error: InputError) {
            openEncoder = nil
            chunk.append(.failure(error))
        }

        mutating func row(_ key: consuming RecordKey, _ update: consuming RecordUpdate, file: String, line: Int) throws {
            let region = regions.packed(key.region)
            if let first = duplicates.insert(packed: DuplicateDetector.pack(region: region, service: key.service), file: file, line: line) {
                let place = first.file == file ? "line \(first.line)" : "\(first.file):\(first.line)"
                failed(
                    InputError(
                        .duplicate,
                        file: file, line: line,
                        message: "region \(key.region) and OZG-ID \(key.service) appear again (first on \(place)): "
                            + "expected each record once per import"))
            } else if empty {
                let values: RecordValues
                do throws(InputError) {
                    values = try update.applied(to: nil)
                } catch {
                    failed(error.located(file: file, line: line))
                    return try sendIfFull()
                }
                try new(key, values)
            } else {
                let lookUp = copy key
                chunk.append(.row(ImportRow(file: file, line: line, key: key, update: update)), lookingUp: lookUp)
            }
            try sendIfFull()
        }

        mutating func expect(about rows: Int, likely: Int) { duplicates.reserve(rows, likely: likely) }

        mutating func failure(_ error: InputError) throws {
            failed(error)
            try sendIfFull()
        }

        private mutating func sendIfFull() throws {
            if chunk.isFull {
                try channel.send(chunk)
                chunk = pool.take()
            }
        }

        /// Sends the last, partial chunk (with the encoder's last page).
        mutating func finish() throws {
            if let last = encoder?.finish() {
                if chunk.isFull {
                    try channel.send(chunk)
                    chunk = pool.take()
                }
                chunk.append(.encoded(last.page, last.rows))
            }
            if !chunk.isEmpty { try channel.send(chunk) }
        }
    }
}

/// Up to ``ReadingStage/chunkSize`` planned rows: filled by the reading stage, emptied by the writing stage, which
/// moves each row out rather than copying it, then given back through a ``ChunkPool`` to be filled again.
///
/// Hand-written rather than an `Array` because measured: in `perf record` of a national dry run (5,988,307
/// rows), copying each row out of the array and destroying the array's copy afterwards (`Planned`'s outlined
/// copy with its `swift_retain`s) was 3.6 % of the samples, and a fresh 1 MB array per chunk made the kernel zero
/// new pages (`clear_page_erms`, 3.5 %).
///
/// `@unchecked Sendable`: one thread at a time holds a chunk — the reading stage until it sends it, the writing
/// stage from receiving it until it gives it back; the channel and the pool hand it over under their locks.
final class PlannedChunk: @unchecked Sendable {
    private let rows: UnsafeMutablePointer<Importer.Planned>
    private(set) var count = 0
    /// The keys of the chunk's rows for a filled store (``Importer/Planned/row(_:)``), in order: the writing stage
    /// names them to the store before it reads them (``LookAheadReader``). Empty for an empty store's rows.
    private(set) var lookUps: [RecordKey] = []

    init() {
        rows = .allocate(capacity: ReadingStage.chunkSize)
    }

    deinit {
        rows.deinitialize(count: count)
        rows.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == ReadingStage.chunkSize }

    /// Adds a row. - Precondition: the chunk is not full (the reading stage sends full chunks at once).
    func append(_ row: consuming Importer.Planned) {
        precondition(count < ReadingStage.chunkSize, "a full chunk is sent before more rows are added")
        (rows + count).initialize(to: row)
        count += 1
    }

    /// Adds a row for a filled store, whose current values the writing stage reads by `key`.
    func append(_ row: consuming Importer.Planned, lookingUp key: RecordKey) {
        append(row)
        lookUps.append(key)
    }

    /// Hands every row to `body` in order, moving it out; the chunk is empty afterwards, also when `body` throws.
    func drain(_ body: (consuming Importer.Planned) throws -> Void) rethrows {
        let total = count
        count = 0
        lookUps.removeAll(keepingCapacity: true)
        var index = 0
        defer { (rows + index).deinitialize(count: total - index) }
        while index < total {
            let row = (rows + index).move()
            index += 1
            try body(row)
        }
    }
}

/// Emptied chunks, given back by the writing stage for the reading stage to fill again.
///
/// `@unchecked Sendable`: `chunks` is read and written only with `lock` held.
final class ChunkPool: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [PlannedChunk] = []

    /// An empty chunk.
    func take() -> PlannedChunk {
        lock.withLock { chunks.popLast() } ?? PlannedChunk()
    }

    /// Keeps an emptied chunk (at most a channel's worth and two more; others are freed).
    func give(_ chunk: PlannedChunk) {
        lock.withLock { if chunks.count < ReadingStage.capacity + 2 { chunks.append(chunk) } }
    }
}

/// The bounded hand-over of row chunks from the reading stage to the writing one: at most
/// ``ReadingStage/capacity`` chunks wait, so memory stays bounded when writing is slower than reading.
typealias PlannedChannel = BoundedChannel<PlannedChunk>
