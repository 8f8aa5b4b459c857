import Foundation
public import OZGCore
import PostgresNIO

/// Reads and appends inside one write transaction (inside ``PostgresBackend/write(_:)``).
///
/// Appended versions are collected as `COPY` rows (``CopyRows``, binary format) and sent in pages of ``pageBytes`` straight into `record_version`,
/// one page on its way while the next is collected. A read of a key whose versions are not yet known to be in the
/// table (collected, or on their way) waits for them first.
///
/// **Bulk loads into an empty store** (the national first import, `db copy`): when the first full page is sent and
/// the store holds no version yet, the writer drops `record_version`'s indexes inside its transaction and builds
/// them again in ``finish()``, after the last page: building an index once over sorted data costs a fraction of
/// maintaining it row by row (see docs/performance.md, "PostgreSQL backend"); it also empties the table with
/// `TRUNCATE`, so that the rows lie in the table in the order they were sent. Everything stays in the one
/// transaction, so a killed client or a failed import leaves the table and its indexes as they were. Dropping the
/// indexes takes an exclusive lock on `record_version` until the commit, so readers of the store wait for the
/// import instead of seeing the empty store. The writer takes that path only when it gets the lock at once and
/// may alter the table (its owner): otherwise, and when the transaction reads versions before or after, it keeps
/// (or at once rebuilds) the indexes and loads through them.
public final class PostgresWriter: PostgresReader, BackendWriter {
    /// Versions collected as `COPY` rows, not yet sent.
    private var pending = ByteBuffer()
    private var pendingCount = 0
    /// The packed keys (``packed(_:)``) of the collected versions.
    private var pendingKeys: [Int] = []
    /// The versions and keys of the page on its way (sent, not yet known to be in the table).
    private var inFlight: ResultBox<Void>?
    /// The page on its way: its buffer takes the next page once the server has it (a fresh 4 MB buffer per page
    /// cost a page fault and a zeroed page per 4 kB).
    private var sentPage: ByteBuffer?
    private var inFlightCount = 0
    private var inFlightKeys: [Int] = []
    /// Versions known to be in the table.
    private var mergedTotal = 0
    /// The keys and regions of `inFlightKeys` and `pendingKeys`, built only when a read asks (an import into an
    /// empty store never reads): `nil` when not built; `indexedPending` keys of `pendingKeys` are in it.
    private var keyIndex: Set<Int>?
    private var regionIndex: Set<Int> = []
    private var indexedPending = 0

    /// Whether the bulk-load path was considered (at the first full page).
    private var bulkConsidered = false
    /// Whether this transaction read versions (then it keeps the indexes, which its reads need).
    private var readsVersions = false
    /// The statements that rebuild the indexes dropped for a bulk load; `nil` when none were dropped.
    private var deferredIndexes: [String]?
    /// Whether versions collected or on their way came as encoded pages (``append(encoded:rows:)``), whose keys
    /// the writer does not know: a read then waits for everything sent.
    private var unkeyed = false
    /// Page buffers for ``CopyEncoder``s to fill again.
    private let pagePool = PagePool()

    /// Send collected versions when they reach this many bytes.
    static let pageBytes = 4 << 20
    /// The least a bulk load sends before the writer drops the indexes: one full page (below it, keeping them is
    /// cheaper than building them again).
    static let bulkThreshold = pageBytes
    /// `maintenance_work_mem` (in kB) while the dropped indexes are built again, for this transaction only: enough
    /// for the key sort to stay in memory (about 90 bytes a row on PostgreSQL 15), at least the server's default
    /// of 64 MB and at most 1 GB. For the national import (6 million versions) an external sort with 256 MB took
    /// 3.5 s, the sort in memory 2.3 s (on this machine, under load).
    static func indexBuildMemory(rows: Int) -> Int { min(max(rows / 1024 * 100, 64 << 10), 1 << 20) }

    override func prepare(for key: RecordKey?) throws {
        try noteRead()
        if pendingCount == 0 && inFlightCount == 0 { return }
        guard let key, !unkeyed else { return try merge() }
        if indexed().contains(Self.packed(key)) { try merge() }
    }

    override func prepare(keys: [Int]) throws {
        try noteRead()
        if pendingCount == 0 && inFlightCount == 0 { return }
        if unkeyed { return try merge() }
        let index = indexed()
        if keys.contains(where: index.contains) { try merge() }
    }

    override func prepare(region: RegionKey) throws {
        try noteRead()
        if pendingCount == 0 && inFlightCount == 0 { return }
        if unkeyed { return try merge() }
        _ = indexed()
        if regionIndex.contains(PackedRegionKey(region).rawValue) { try merge() }
    }

    /// The keys not yet known to be in the table, as a set (brought up to date with the keys collected since).
    private func indexed() -> Set<Int> {
        var index: Set<Int>
        if let keyIndex {
            index = keyIndex
            self.keyIndex = nil  // unique while it grows
        } else {
            index = Set(minimumCapacity: inFlightKeys.count + pendingKeys.count)
            regionIndex.removeAll(keepingCapacity: true)
            for key in inFlightKeys {
                index.insert(key)
                regionIndex.insert(key >> 17)
            }
            indexedPending = 0
        }
        while indexedPending < pendingKeys.count {
            let key = pendingKeys[indexedPending]
            index.insert(key)
            regionIndex.insert(key >> 17)
            indexedPending += 1
        }
        keyIndex = index
        return index
    }

    /// A read of versions: the indexes stay (or come back at once) for it.
    private func noteRead() throws {
        readsVersions = true
        if deferredIndexes != nil {
            try merge()
            try rebuildIndexes()
        }
    }

    public override func hasVersions() throws -> Bool {
        if pendingCount > 0 || inFlightCount > 0 || mergedTotal > 0 { return true }
        return try super.hasVersions()
    }

    public func appendBatch(_ batch: NewBatch) throws -> Int {
        var binds = PostgresBindings()
        binds.append(BatchTimeline.milliseconds(batch.at))
        binds.append(batch.actor)
        binds.append(batch.source)
        binds.append(batch.command)
        let ids = try session.rows(
            "INSERT INTO \(Schema.quoted(schema)).batch (id, at, actor, source, command) "
                + "SELECT coalesce(max(id), 0) + 1, $1, $2, $3, $4 FROM \(Schema.quoted(schema)).batch RETURNING id", binds
        ) { row in Cell.int(row.makeRandomAccess()[0]) ?? 0 }
        guard let id = ids.first, id > 0 else { throw StoreError("\(session.configuration): the new batch got no id") }
        // `record_version.batch` is an `integer`; rows are sent in binary, where a larger id would not be refused by
        // the server but cut short. (A store counts its writes from 1: no store comes near.)
        guard id <= Int(Int32.max) else {
            throw StoreError("\(session.configuration): the store has used every batch id (up to \(Int32.max)): nothing was written")
        }
        return id
    }

    public func append(_ versions: [StoredVersion]) throws {
        // The page is a local while rows are written: a stored property would be checked for exclusive access on
        // every write (swift_beginAccess was 10 % of the national import's client time).
        var page = ByteBuffer()
        swap(&page, &pending)
        let cachedRegion = block?.region
        let cachedBound = block?.maxBatch ?? 0
        // The prefetched keys see their own writes too (taken out while rows are written, like the page).
        let prefetchedBound = prefetched?.maxBatch
        var prefetchedVersions = prefetched.take()?.versions ?? [:]
        var packer = RegionPacker()
        // Each version is read in place: `for version in versions` copied it (retaining its texts, made on
        // another thread), 2 % of the same samples.
        versions.withUnsafeBufferPointer { versions in
            for index in versions.indices {
                let key = versions[index].key
                let region = packer.packed(key.region).rawValue
                let packedKey = Self.packed(region: region, service: key.service.value)
                CopyRows.appendRow(versions[index], region: region, to: &page)
                pendingKeys.append(packedKey)
                // The cached region sees its own writes.
                if let cachedRegion, cachedRegion == key.region, versions[index].batch <= cachedBound {
                    block?.versions[key.service.value] = versions[index]
                }
                if let prefetchedBound, versions[index].batch <= prefetchedBound,
                    let known = prefetchedVersions.index(forKey: packedKey)
                {
                    prefetchedVersions.values[known] = versions[index]
                }
            }
        }
        swap(&page, &pending)
        if let prefetchedBound { prefetched = Prefetched(maxBatch: prefetchedBound, versions: prefetchedVersions) }
        pendingCount += versions.count
        if pending.readableBytes >= Self.pageBytes { try send(full: true) }
    }

    /// Appends a page of COPY rows made by an encoder of this writer (``bulkEncoder(batch:)``); its buffer is taken
    /// over (no copy) when nothing else is collected.
    package func append(encoded page: any EncodedRows, rows: Int) throws {
        guard let page = page as? CopyPage else { throw StoreError("\(session.configuration): a page of rows of another store") }
        // The cached region and the prefetched keys do not see these versions: forget them.
        block = nil
        prefetched = nil
        unkeyed = true
        var bytes = page.bytes
        if pending.readableBytes == 0 {
            swap(&bytes, &pending)
        } else {
            pending.writeBuffer(&bytes)
        }
        pagePool.give(bytes)
        pendingCount += rows
        if pending.readableBytes >= Self.pageBytes { try send(full: true) }
    }

    /// Sends the collected versions into `record_version` with one COPY, without waiting for it: the caller
    /// collects the next page while the server takes this one (the COPY before is awaited first).
    private func send(full: Bool) throws {
        guard pendingCount > 0 else { return }
        try awaitSent()
        if full && !bulkConsidered {
            bulkConsidered = true
            if !readsVersions && mergedTotal == 0 && pending.readableBytes >= Self.bulkThreshold { try deferIndexes() }
        }
        var next = sentPage ?? ByteBuffer()
        sentPage = nil
        inFlight = session.startCopy(into: "record_version", columns: CopyRows.columns, pending)
        sentPage = pending
        inFlightCount = pendingCount
        swap(&inFlightKeys, &pendingKeys)
        pendingKeys.removeAll(keepingCapacity: true)
        // The index holds the keys of the page that just arrived: rebuilt on the next read.
        keyIndex = nil
        indexedPending = 0
        pendingCount = 0
        next.clear(minimumCapacity: Self.pageBytes + (64 << 10))
        pending = next
    }

    /// Waits for the COPY on its way; rethrows its error.
    private func awaitSent() throws {
        guard let box = inFlight else { return }
        inFlight = nil
        try box.wait().get()
        mergedTotal += inFlightCount
        inFlightCount = 0
        inFlightKeys.removeAll(keepingCapacity: true)
        keyIndex = nil
    }

    /// Sends what is collected and waits until every version sent is in the table (visible to this
    /// transaction's reads).
    private func merge() throws {
        try send(full: false)
        try awaitSent()
        unkeyed = false
    }

    /// Drops `record_version`'s indexes for a bulk load into the empty store, if the table can be locked at once
    /// and altered by this role; remembers how to build them again. Otherwise changes nothing.
    private func deferIndexes() throws {
        guard try !super.hasVersions() else { return }
        var binds = PostgresBindings()
        binds.append(table)
        // Each index: how to drop it and how to build it again (a constraint's index through its constraint).
        let indexes = try session.rows(
            """
            SELECT CASE WHEN c.oid IS NULL THEN 'DROP INDEX ' || quote_ident(n.nspname) || '.' || quote_ident(x.relname)
                        ELSE 'ALTER TABLE ' || $1 || ' DROP CONSTRAINT ' || quote_ident(c.conname) END,
                   CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
                        ELSE 'ALTER TABLE ' || $1 || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' '
                             || pg_get_constraintdef(c.oid) END
            FROM pg_index i
            JOIN pg_class x ON x.oid = i.indexrelid
            JOIN pg_namespace n ON n.oid = x.relnamespace
            LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
            WHERE i.indrelid = $1::regclass AND i.indpred IS NULL
            ORDER BY i.indisprimary DESC, x.relname
            """, binds
        ) { row in
            let cells = row.makeRandomAccess()
            return (drop: Cell.text(cells[0]) ?? "", build: Cell.text(cells[1]) ?? "")
        }
        guard !indexes.isEmpty else { return }
        try session.execute("SAVEPOINT ozgtrack_bulk_load")
        do {
            // Readers hold a share lock on the table: never wait for them (nor make new readers queue behind us).
            try session.execute("SET LOCAL lock_timeout = '50ms'")
            try session.execute("LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
            for index in indexes { try session.execute(index.drop) }
            // A new, empty file for the table (the old one comes back if the transaction fails): COPY into a table
            // emptied in its own transaction appends every row at the end instead of filling the gaps that earlier
            // pages left (free space map), so the rows lie in the order they came — key order for a sorted file —
            // and the key index is built from presorted runs. National import (rows in key order): 11,615 rows out
            // of place without it, none with it; the key build's sort 0.4–0.5 s less CPU (docs/performance.md,
            // "Import into an empty store, session 6"). Checked once more under the lock, since TRUNCATE would
            // spare no row (writers take the store's advisory lock, so none can have come since the check above).
            if try !super.hasVersions() { try session.execute("TRUNCATE \(table)") }
            try session.execute("SET LOCAL lock_timeout = '120s'")
            try session.execute("RELEASE SAVEPOINT ozgtrack_bulk_load")
        } catch let error as PSQLError
            where [Failure.State.lockNotAvailable, Failure.State.insufficientPrivilege].contains(error.serverInfo?[.sqlState] ?? "")
        {
            // Busy, or not the table's owner: load through the indexes. (Rolling back to the savepoint also
            // restores the lock timeout.)
            try session.execute("ROLLBACK TO SAVEPOINT ozgtrack_bulk_load")
            try session.execute("RELEASE SAVEPOINT ozgtrack_bulk_load")
            return
        }
        deferredIndexes = indexes.map(\.build)
    }

    /// Builds the indexes dropped for a bulk load again (after every page is in the table).
    private func rebuildIndexes() throws {
        guard let statements = deferredIndexes else { return }
        deferredIndexes = nil
        // Never less than the server gives already.
        try session.execute(
            "SELECT set_config('maintenance_work_mem', greatest(pg_size_bytes(current_setting('maintenance_work_mem')) / 1024, "
                + "\(Self.indexBuildMemory(rows: mergedTotal)))::text || 'kB', true)")
        for statement in statements { try session.execute(statement) }
    }

    /// The statistics target of the `ANALYZE` after a large import (the server's default is 100): a sample of
    /// 300 × 10 rows instead of 300 × 100. This `ANALYZE` only bridges the time until autovacuum analyzes the
    /// table with the server's own target, which it does after the commit anyway (the import's rows count as
    /// changes since the last analyze): the next report must not meet a table without statistics (without the
    /// key's correlation the planner sorts six million rows instead of reading them through the key index).
    /// National store, on this machine under load: 0.28–0.31 s with the default target, 0.02–0.03 s with 10; the
    /// report's plan is the same (an index scan, the key's correlation 1 either way).
    static let bridgingStatisticsTarget = 10

    /// Appends what is left before the commit; builds dropped indexes again; gives the planner statistics after a
    /// large import.
    func finish() throws {
        try merge()
        try rebuildIndexes()
        if mergedTotal >= 100_000 {
            try session.execute("SELECT set_config('default_statistics_target', '\(Self.bridgingStatisticsTarget)', true)")
            try session.execute("ANALYZE \(table)")
        }
    }
}

extension PostgresWriter: BulkEncodingBackend {
    package func bulkEncoder(batch: Int) -> any BulkRowEncoder { CopyEncoder(batch: batch, pool: pagePool) }
}

/// A page of COPY rows (``CopyRows``) made by a ``CopyEncoder``.
struct CopyPage: EncodedRows {
    var bytes: ByteBuffer
}

/// Encodes the versions of a bulk load into an empty store as `COPY` rows (``CopyRows``), in pages of ``PostgresWriter/pageBytes``,
/// on the import's reading thread (see ``BulkRowEncoder`` for the measurement that asked for it).
///
/// Used by one thread at a time (the reading stage's), so its changing state needs no dynamic exclusivity checks.
final class CopyEncoder: BulkRowEncoder {
    private let batch: Int
    private let pool: PagePool
    @exclusivity(unchecked) private var page: ByteBuffer
    @exclusivity(unchecked) private var rows = 0
    /// Versions come region by region: the region is packed once per run.
    @exclusivity(unchecked) private var packer = RegionPacker()

    init(batch: Int, pool: PagePool) {
        self.batch = batch
        self.pool = pool
        page = pool.take()
    }

    func append(_ key: RecordKey, _ values: borrowing RecordValues) -> (page: any EncodedRows, rows: Int)? {
        let region = packer.packed(key.region).rawValue
        CopyRows.appendRow(key: key, values: values, batch: batch, region: region, to: &page)
        rows += 1
        return page.readableBytes >= PostgresWriter.pageBytes ? take() : nil
    }

    func finish() -> (page: any EncodedRows, rows: Int)? { rows > 0 ? take() : nil }

    private func take() -> (page: any EncodedRows, rows: Int) {
        var full = pool.take()
        swap(&full, &page)
        defer { rows = 0 }
        return (CopyPage(bytes: full), rows)
    }
}

/// Page buffers sent, kept for encoders to fill again: a fresh 4 MB buffer per page cost a page fault and a zeroed
/// page per 4 kB (see ``PostgresWriter``'s `sentPage`).
///
/// `@unchecked Sendable`: `buffers` is read and written only with `lock` held.
final class PagePool: @unchecked Sendable {
    private let lock = NSLock()
    private var buffers: [ByteBuffer] = []

    /// An empty buffer with room for a page.
    func take() -> ByteBuffer {
        var buffer = lock.withLock { buffers.popLast() } ?? ByteBuffer()
        buffer.clear(minimumCapacity: PostgresWriter.pageBytes + (64 << 10))
        return buffer
    }

    /// Keeps a buffer (at most two; others are freed).
    func give(_ buffer: ByteBuffer) {
        lock.withLock { if buffers.count < 2 { buffers.append(buffer) } }
    }
}

/// Versions as rows of PostgreSQL's binary `COPY` format: per row the number of fields, then each field as its
/// length and its bytes (big-endian integers of the column's width, texts as their UTF-8 bytes; length -1 for NULL).
/// Each `COPY` begins with ``header`` (``Session/startCopy(into:columns:_:)`` sends it); pages hold rows only, so
/// that pages can be joined.
///
/// Binary instead of text, because the server is what the national import waits for: its `COPY` of the import's
/// 5,988,307 rows (a file on the server, `COPY … FROM '…'` into a new table with the partial index, one
/// transaction, quiet two-core machine) took 3.46–3.57 s of text and 2.99–3.04 s of the same rows in binary: no
/// line and field splitting, no escapes, no parsing of numbers (docs/performance.md, "Import into an empty store,
/// session 7"). The rows are 40 % larger (508 instead of 359 MB), which the loopback carries in a fraction of that.
///
/// Rows are written through a raw pointer into space reserved once per row: writing field by field through
/// `ByteBuffer` cost about a third of the national import's client time (bounds checks, capacity checks and
/// exclusivity checks on every byte run).
enum CopyRows {
    static let columns = [
        "region", "ozg_id", "batch", "status", "maturity", "maturity_model", "planned", "online_since", "url", "solution", "note",
    ]

    /// The start of every binary `COPY`: the signature `PGCOPY\n\377\r\n\0`, no flags, no header extension.
    static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]

    /// The most bytes ``appendRow(_:region:to:)`` writes for `values`: the field count, eleven lengths, the eight
    /// numbers' 30 bytes and the texts.
    static func maximumBytes(_ values: borrowing RecordValues) -> Int {
        2 + 11 * 4 + 30 + (values.url?.utf8.count ?? 0) + (values.solution?.utf8.count ?? 0) + (values.note?.utf8.count ?? 0)
    }

    /// Appends `version`'s row; `region` is its packed region key.
    static func appendRow(_ version: StoredVersion, region: Int, to buffer: inout ByteBuffer) {
        appendRow(key: version.key, values: version.values, batch: version.batch, region: region, to: &buffer)
    }

    /// Appends the row of `key`'s version `values` of batch `batch`; `region` is the key's packed region.
    ///
    /// The numbers fit their columns by the domain's rules: an OZG-ID has five digits, status, Reifegrad and model are
    /// small codes, dates are packed as YYYYMMDD, and batch ids are checked when a batch is made
    /// (``PostgresWriter/appendBatch(_:)``).
    static func appendRow(key: RecordKey, values: borrowing RecordValues, batch: Int, region: Int, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maximumBytes(values)) { raw in
            var out = Output(base: raw.baseAddress!)
            out.integer(Int16(11))
            out.field(Int64(region))
            out.field(Int32(truncatingIfNeeded: key.service.value))
            out.field(Int32(truncatingIfNeeded: batch))
            // The values are read in place (a local copy of them retained their texts).
            out.field(Int16(truncatingIfNeeded: values.status.code))
            out.field(values.maturity.map { Int16(truncatingIfNeeded: $0) })
            out.field(values.maturityModel.map { Int16(truncatingIfNeeded: $0.rawValue) })
            out.field(values.planned.map { Int32(truncatingIfNeeded: $0.packed) })
            out.field(values.onlineSince.map { Int32(truncatingIfNeeded: $0.packed) })
            out.text(values.url)
            out.text(values.solution)
            out.text(values.note)
            return out.count
        }
    }

    /// Writes into space reserved by ``maximumBytes(_:)``.
    struct Output {
        let base: UnsafeMutableRawPointer
        var count = 0

        init(base: UnsafeMutableRawPointer) { self.base = base }

        /// A big-endian integer (unaligned store).
        mutating func integer<T: FixedWidthInteger>(_ value: T) {
            base.storeBytes(of: value.bigEndian, toByteOffset: count, as: T.self)
            count += MemoryLayout<T>.size
        }

        mutating func null() { integer(Int32(-1)) }

        /// A number field: its length, then its bytes; NULL for `nil`.
        mutating func field<T: FixedWidthInteger>(_ value: T?) {
            guard let value else { return null() }
            integer(Int32(MemoryLayout<T>.size))
            integer(value)
        }

        mutating func text(_ text: String?) {
            switch text {
            case .none: null()
            case .some(let text):
                // Texts the importer made are native and contiguous: read in place (a `var` copy for `withUTF8`
                // retained and released each one). Others are copied once.
                if text.utf8.withContiguousStorageIfAvailable({ bytes in self.bytes(bytes) }) == nil {
                    var copy = text
                    copy.withUTF8 { bytes in self.bytes(bytes) }
                }
            }
        }

        private mutating func bytes(_ bytes: UnsafeBufferPointer<UInt8>) {
            integer(Int32(bytes.count))
            if let source = bytes.baseAddress { (base + count).copyMemory(from: source, byteCount: bytes.count) }
            count += bytes.count
        }
    }
}
