import Foundation
public import OZGCore
import PostgresNIO

/// The PostgreSQL backend of the store contract: batches and versions in tables of their own schema, reached
/// through postgres-nio.
///
/// - **Reads** run in a `REPEATABLE READ READ ONLY` transaction: one snapshot, and they never block writers.
/// - **Writes** run in one transaction that first takes a transaction-level advisory lock on the store
///   (`pg_advisory_xact_lock` on a hash of the schema name). Writers on every machine therefore take effect one
///   after another, from their first read to their commit: no update is lost, batch ids (the greatest plus one,
///   read under the lock) increase with commit order, and the batch clock never goes back. A writer waits up to
///   120 s (`lock_timeout`) for the one before it, then gives up with nothing written. Readers take no lock.
/// - **Versions go in with `COPY`:** appended versions are collected as binary `COPY` rows and sent in pages of a few
///   megabytes straight into `record_version`, while the client collects the next page; a read of a key whose
///   versions are still on their way waits for them first. The commit makes everything visible at once; a client
///   killed or a server gone before the commit leaves the store as it was. (No staging table: the history is only
///   ever appended to, so there is nothing to merge, and a staging table writes every row twice — see
///   docs/performance.md, "PostgreSQL backend", for the figures.)
/// - **Streams** use a server-side cursor (`DECLARE … CURSOR`) with one row per region (``RegionRows``), fetched in
///   pages of about 32,768 versions by a task on the event loop while the consumer works on the page before: memory
///   stays bounded by the page size and the history of the largest region, whatever the size of the store.
public final class PostgresBackend: StoreBackend, @unchecked Sendable {
    /// How to open the store.
    public enum Mode: Sendable {
        /// Create the schema if needed and bring it up to date (`ozgtrack init`).
        case create
        /// Open an existing store for writing.
        case write
        /// Open an existing store for reading.
        case read
    }

    /// Where the store is.
    public let configuration: PostgresConfiguration
    let bridge: Bridge
    private var session: Session?
    private let lock = NSRecursiveLock()
    let schema: String
    /// Whether ``init(configuration:mode:)`` created or upgraded the schema.
    public private(set) var migrated = false

    /// Connects, checks the schema, and (for `.create`) creates or upgrades it.
    /// - Throws: ``StoreError`` when the server cannot be reached, refuses the login, the schema holds no store
    ///   (except for `.create`), another application's tables, or a store of a newer ozgtrack.
    public init(configuration: PostgresConfiguration, mode: Mode) throws(StoreError) {
        self.configuration = configuration
        schema = configuration.schema
        bridge = Bridge()
        do {
            let session = try Session.connect(configuration, bridge: bridge)
            self.session = session
            if mode == .create {
                migrated = try Self.migrate(session, configuration: configuration)
            } else {
                try check(session, mode: mode)
            }
        } catch {
            session?.close()
            session = nil
            bridge.shutdown()
            throw Failure.message(for: error, configuration: configuration, during: .connect)
        }
    }

    deinit {
        session?.close()
        bridge.shutdown()
    }

    /// Closes the connection; later calls reconnect.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        session?.close()
        session = nil
    }

    /// The statements the current connection has sent (``Session/statementsSent``); 0 without one.
    var statementsSent: Int {
        lock.lock()
        defer { lock.unlock() }
        return session?.statementsSent ?? 0
    }

    /// Deletes the store: its schema with every table in it (for throwaway stores, such as tests'). Waits for
    /// writers to finish first.
    public func drop() throws {
        lock.lock()
        defer { lock.unlock() }
        let session = try currentSession()
        do {
            try session.execute("BEGIN")
            try session.execute("SELECT pg_advisory_xact_lock(\(Schema.lockKey(schema)))")
            try session.execute("DROP SCHEMA IF EXISTS \(Schema.quoted(schema)) CASCADE")
            try session.execute("COMMIT")
        } catch {
            try? session.execute("ROLLBACK")
            throw Failure.message(for: error, configuration: configuration, during: .write)
        }
    }

    private func check(_ session: Session, mode: Mode) throws {
        switch try Self.state(session, schema: schema) {
        case .missing:
            throw StoreError("\(configuration) holds no ozgtrack store: create one with 'ozgtrack init'")
        case .foreign:
            throw StoreError("\(configuration): the schema '\(schema)' holds other tables and no ozgtrack store")
        case .version(let version) where version > Schema.version:
            throw StoreError(Schema.newerMessage(configuration, version: version, action: mode == .read ? "read" : "change"))
        case .version(let version) where version < Schema.version:
            if mode == .read {
                throw StoreError("\(configuration) has an older schema: run 'ozgtrack init' once to upgrade it")
            }
            _ = try Self.migrate(session, configuration: configuration)
        case .version:
            break
        }
    }

    /// Creates or upgrades the schema; a role that may not (the README's write and read-only roles) is told that
    /// this needs the store's owner, and nothing was written.
    private static func migrate(_ session: Session, configuration: PostgresConfiguration) throws -> Bool {
        do {
            return try Schema.migrate(session, schema: configuration.schema)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Failure.State.insufficientPrivilege {
            let text = error.serverInfo?[.message] ?? "permission denied"
            throw StoreError(
                "\(configuration): permission denied (\(text)): creating or upgrading the store needs its owner (a role with "
                    + "CREATE on the database, or the schema's owner): run 'ozgtrack init' as that role; nothing was written")
        }
    }

    /// What the schema holds, asked outside a transaction: in one round trip for a store (its version table
    /// read at once, with the server's encoding, which streams need: ``Session/serverEncoding``); only when that
    /// table is not there, ``Schema/state(_:schema:)`` looks at what the schema holds instead (missing, or another
    /// application's tables). Every command opens the store this way: one round trip of every `status` and `set`
    /// (three before: the schema's tables, the version, and a stream's encoding).
    static func state(_ session: Session, schema: String) throws -> Schema.State {
        do {
            let rows = try session.rows(
                "SELECT coalesce(max(version), 0)::bigint, current_setting('server_encoding') FROM \(Schema.quoted(schema)).schema_version"
            ) { row in
                let cells = row.makeRandomAccess()
                return (version: Cell.int(cells[0]) ?? 0, encoding: Cell.text(cells[1]))
            }
            session.serverEncoding = rows.first?.encoding
            return .version(rows.first?.version ?? 0)
        } catch let error as PSQLError
            where [Failure.State.undefinedTable, Failure.State.invalidSchemaName].contains(error.serverInfo?[.sqlState] ?? "")
        {
            return try Schema.state(session, schema: schema)
        }
    }

    /// The open session, reconnecting when the last one was lost.
    private func currentSession() throws -> Session {
        if let session, !session.isClosed { return session }
        session?.close()
        let fresh = try Session.connect(configuration, bridge: bridge)
        session = fresh
        return fresh
    }

    /// Runs one statement of the token table on the session, outside the record transactions; failures become
    /// one ``StoreError``.
    func tokenAccess<T>(during operation: Operation, _ body: (Session) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try body(try currentSession())
        } catch let error where error is PSQLError || error is ConnectionLost {
            throw Failure.message(for: error, configuration: configuration, during: operation)
        }
    }

    public func read<T>(_ body: (PostgresReader) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let session = try currentSession()
        do {
            // cursor_tuple_fraction = 1.0 comes with the session (``Session/connect(_:bridge:)``).
            try session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let reader = PostgresReader(session: session, schema: schema)
            let result: T
            do {
                result = try body(reader)
            } catch {
                reader.closeStreams()
                try? session.execute("ROLLBACK")
                throw error
            }
            reader.closeStreams()
            // Not waited for: a read-only transaction's commit cannot change what was read (one round trip of every
            // `status`; the next statement on the connection waits for it, and closing ends it).
            session.send("COMMIT")
            return result
        } catch let error where error is PSQLError || error is ConnectionLost {
            throw Failure.message(for: error, configuration: configuration, during: .read)
        }
    }

    public func write<T>(_ body: (PostgresWriter) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        let session = try currentSession()
        do {
            try session.execute("BEGIN")
            // One round trip: the lock wait bound, cursor plans for whole results, and the store's schema first
            // on the search path (postgres-nio's COPY names its table as one quoted identifier), then the lock. The
            // settings are made in a CTE, which the lock's row needs first: a CTE with volatile functions is never
            // folded into the query that reads it (PostgreSQL 12+; before, no CTE was) and is evaluated before that
            // query's row, so the lock waits under the 120 s bound.
            try session.execute(
                "WITH settings AS (SELECT set_config('lock_timeout', '120s', true) AS l, "
                    + "set_config('cursor_tuple_fraction', '1.0', true) AS c, "
                    + "set_config('search_path', '\(Schema.quoted(schema))', true) AS p) "
                    + "SELECT pg_advisory_xact_lock(\(Schema.lockKey(schema))) FROM settings")
            let writer = PostgresWriter(session: session, schema: schema)
            let result: T
            do {
                result = try body(writer)
                writer.closeStreams()
                try writer.finish()
            } catch {
                writer.closeStreams()
                try? session.execute("ROLLBACK")
                throw error
            }
            do {
                try session.execute("COMMIT")
            } catch let error where (error as? PSQLError).map({ $0.code != .server }) ?? (error is ConnectionLost) {
                // The connection broke while the server committed: only the server knows the outcome.
                throw StoreError(
                    "\(configuration): the connection was lost while the server committed this write: it may or may not "
                        + "have been recorded (see 'ozgtrack history')")
            }
            return result
        } catch let error where error is PSQLError || error is ConnectionLost {
            // A lost connection ends the transaction on the server: nothing of it was committed.
            throw Failure.message(for: error, configuration: configuration, during: .write)
        }
    }
}

/// Reads one snapshot (inside ``PostgresBackend/read(_:)``).
public class PostgresReader: BackendReader {
    let session: Session
    let schema: String
    let table: String
    private var streams: [PostgresVersionStream] = []
    private var cursorCount = 0

    init(session: Session, schema: String) {
        self.session = session
        self.schema = schema
        table = Schema.quoted(schema) + ".record_version"
    }

    static let versionColumns =
        "region, ozg_id, batch, status, maturity, maturity_model, planned, online_since, url, solution, note"

    /// Called before every read of versions: a writer sends what it collected first.
    func prepare(for key: RecordKey?) throws {}

    /// A record key as one integer: the packed region key, then the OZG-ID's 17 bits (the writer's keys of
    /// versions on their way, the prefetched versions).
    static func packed(_ key: RecordKey) -> Int { packed(region: PackedRegionKey(key.region).rawValue, service: key.service.value) }
    static func packed(region: Int, service: Int) -> Int { region << 17 | service }
    /// The OZG-ID's bits of a packed key (an OZG-ID has five digits: below 2¹⁷).
    static let serviceMask = (1 << 17) - 1

    /// Called before the newest versions of `keys` (packed: ``packed(_:)``) are read at once: a writer
    /// sends what it collected of them first.
    func prepare(keys: [Int]) throws {}

    public func batches() throws -> [BatchRow] {
        try session.rows("SELECT id, at, actor, source, command FROM \(Schema.quoted(schema)).batch ORDER BY id", PostgresBindings(), Self.batch)
    }

    public func latestBatch() throws -> BatchRow? {
        try session.rows(
            "SELECT id, at, actor, source, command FROM \(Schema.quoted(schema)).batch ORDER BY id DESC LIMIT 1", PostgresBindings(),
            Self.batch
        ).first
    }

    @Sendable static func batch(_ row: PostgresRow) throws -> BatchRow {
        let cells = row.makeRandomAccess()
        return BatchRow(
            id: Cell.int(cells[0]) ?? 0, at: Date(timeIntervalSince1970: Double(Cell.int(cells[1]) ?? 0) / 1000),
            actor: Cell.text(cells[2]) ?? "", source: Cell.text(cells[3]) ?? "", command: Cell.text(cells[4]) ?? "")
    }

    public func hasVersions() throws -> Bool {
        return try session.rows("SELECT 1 FROM \(table) LIMIT 1") { _ in true }.first ?? false
    }

    /// The newest versions of one region up to a batch bound, by OZG-ID: an import asks for every row, mostly
    /// region by region, so a whole region is fetched once its second key is asked for.
    struct RegionBlock {
        var region: RegionKey
        var maxBatch: Int
        var versions: [Int: StoredVersion]
    }
    var block: RegionBlock?
    /// The key of the previous look-up.
    private var lastLookup: RecordKey?

    /// The newest versions of the keys named by the last ``prefetch(_:maxBatch:)``, up to a batch bound, by packed
    /// key (``packed(_:)``); `nil` for a key without a version.
    struct Prefetched {
        var maxBatch: Int
        var versions: [Int: StoredVersion?]
    }
    var prefetched: Prefetched?

    /// Fetches the newest versions of `keys` in one query; ``latestVersion(of:maxBatch:)`` then answers them from
    /// memory (a writer keeps them up to date with what it appends: ``PostgresWriter/append(_:)``).
    ///
    /// Keys spread over many regions (a file in random order) are probed one by one in that query: per key one
    /// descent of the key index from its newest version down (`LATERAL … LIMIT 1`), the keys sorted so that the
    /// probes walk the index in order. Keys that fill their regions (a file sorted by key: 4,096 keys in 8 or 9
    /// regions) fetch those regions whole (``wholeRegionKeys``); only the named keys' versions are kept.
    public func prefetch(_ keys: [RecordKey], maxBatch: Int) throws {
        prefetched = nil
        // One key is one seek either way.
        guard keys.count > 1 else { return }
        var packer = RegionPacker()
        var packed = keys.map { key in Self.packed(region: packer.packed(key.region).rawValue, service: key.service.value) }
        packed.sort()
        try prepare(keys: packed)
        var loaded = Prefetched(maxBatch: maxBatch, versions: Dictionary(minimumCapacity: packed.count))
        var regions: [Int64] = []
        var services: [Int32] = []
        regions.reserveCapacity(packed.count)
        services.reserveCapacity(packed.count)
        for (index, key) in packed.enumerated() where index == 0 || packed[index - 1] != key {
            regions.append(Int64(key >> 17))
            services.append(Int32(truncatingIfNeeded: key & Self.serviceMask))
            // Known to have no version unless the query finds one.
            loaded.versions[key] = .some(nil)
        }
        var distinctRegions: [Int64] = []
        for region in regions where distinctRegions.last != region { distinctRegions.append(region) }
        var binds = PostgresBindings()
        let sql: String
        if regions.count >= Self.wholeRegionKeys * distinctRegions.count {
            binds.append(distinctRegions)
            binds.append(maxBatch)
            sql =
                "SELECT DISTINCT ON (region, ozg_id) \(Self.versionColumns) FROM \(table) WHERE region = ANY($1::bigint[]) "
                + "AND batch <= $2 ORDER BY region, ozg_id, batch DESC"
        } else {
            binds.append(regions)
            binds.append(services)
            binds.append(maxBatch)
            sql =
                "SELECT v.* FROM unnest($1::bigint[], $2::integer[]) AS k(region, ozg_id) CROSS JOIN LATERAL (SELECT "
                + "\(Self.versionColumns) FROM \(table) AS r WHERE r.region = k.region AND r.ozg_id = k.ozg_id AND r.batch <= $3 "
                + "ORDER BY r.batch DESC LIMIT 1) AS v"
        }
        let versions = try session.rows(sql, binds) { row in
            var decoder = VersionDecoder()
            return try decoder.decode(row)
        }
        // Only the named keys are kept: ``prepare(keys:)`` made sure the table holds their versions, not those of the
        // other keys of a region fetched whole (a writer may have some of them on their way).
        for version in versions {
            if let named = loaded.versions.index(forKey: Self.packed(version.key)) {
                loaded.versions.values[named] = version
            }
        }
        prefetched = loaded
    }

    /// The fewest keys per region, on average, for which ``prefetch(_:maxBatch:)`` fetches the keys' regions whole
    /// rather than key by key. National store, psql, 4,096 keys (load 1.3): by key 19.0–19.3 ms spread over the
    /// country and 9.2–15.7 ms sorted (8 regions), 2.3–3.8 µs a key; the 8 regions whole 5.0–6.2 ms (about 4,600
    /// versions, 1.1–1.3 µs each). A region of the national file holds about 540 records, so fetching it whole pays
    /// from about 170–280 of its keys on (docs/performance.md, "Imports into a filled store").
    static let wholeRegionKeys = 256

    public func latestVersion(of key: RecordKey, maxBatch: Int) throws -> StoredVersion? {
        if let prefetched, prefetched.maxBatch == maxBatch, let known = prefetched.versions[Self.packed(key)] {
            return known
        }
        if let block, block.region == key.region, block.maxBatch == maxBatch {
            return block.versions[key.service.value]
        }
        try prepare(for: key)
        // A second key of the same region, not the same key again: `set` reads its key before and after the
        // write, and fetching the whole region for that took 4.5 ms of server time on the national store.
        let sequential = lastLookup.map { $0.region == key.region && $0 != key } ?? false
        lastLookup = key
        var binds = PostgresBindings()
        binds.append(PackedRegionKey(key.region).rawValue)
        binds.append(maxBatch)
        if sequential {
            try prepare(region: key.region)
            let versions = try session.rows(
                "SELECT DISTINCT ON (ozg_id) \(Self.versionColumns) FROM \(table) WHERE region = $1 AND batch <= $2 "
                    + "ORDER BY ozg_id, batch DESC", binds
            ) { row in
                var decoder = VersionDecoder()
                return try decoder.decode(row)
            }
            var loaded = RegionBlock(region: key.region, maxBatch: maxBatch, versions: [:])
            for version in versions { loaded.versions[version.key.service.value] = version }
            block = loaded
            return loaded.versions[key.service.value]
        }
        binds.append(Int32(key.service.value))
        return try session.rows(
            "SELECT \(Self.versionColumns) FROM \(table) WHERE region = $1 AND batch <= $2 AND ozg_id = $3 "
                + "ORDER BY batch DESC LIMIT 1", binds
        ) { row in
            var decoder = VersionDecoder()
            return try decoder.decode(row)
        }.first
    }

    /// Called before a whole region is read from the history: a writer appends what it has of that region.
    func prepare(region: RegionKey) throws {}

    public func versions(_ selection: VersionSelection) throws -> PostgresVersionStream {
        try prepare(for: nil)
        var conditions: [String] = []
        switch selection.regions {
        case .all:
            break
        case .prefix(let prefix):
            let range = PackedRegionKey.range(prefix: prefix)
            conditions.append("region >= \(range.lowerBound) AND region < \(range.upperBound)")
        case .exact(let key):
            conditions.append("region = \(PackedRegionKey(key).rawValue)")
        case .higherLevels:
            conditions.append("region % 16 <> 8")
        }
        if let service = selection.service { conditions.append("ozg_id = \(service.value)") }
        if let maxBatch = selection.maxBatch { conditions.append("batch <= \(maxBatch)") }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        cursorCount += 1
        let name = "ozgtrack_versions_\(cursorCount)"
        let characters = try countsCharacters()
        // JIT compilation (off for the session, see ``Session/connect(_:bridge:)``) for reads of the whole table
        // only, and only while the cursor's plan is made (its compiled code stays with the cursor): the national
        // CSV report and `check` read 5,988,307 versions, and the server's CPU for them fell from 3.54–3.79 s to
        // 2.86–3.03 s with it (paired runs, `/proc`, docs/performance.md, session 5); a smaller read would pay
        // more to compile (≈ 0.1–0.3 s) than it gains.
        let compiled = selection.regions == .all && selection.service == nil
        if compiled { try session.execute("SET LOCAL jit = on") }
        try session.execute(
            "DECLARE \(name) NO SCROLL CURSOR FOR "
                + RegionRows.query(table: table, filter: filter, countsCharacters: characters))
        if compiled { try session.execute("SET LOCAL jit = off") }
        let stream = PostgresVersionStream(session: session, cursor: name, countsCharacters: characters)
        streams.append(stream)
        return stream
    }

    /// Whether streams count text lengths in characters (see ``RegionRows``); asked once per reader.
    var characterLengths: Bool?

    private func countsCharacters() throws -> Bool {
        if let characterLengths { return characterLengths }
        let encoding =
            try session.serverEncoding
            ?? (session.rows("SELECT current_setting('server_encoding')") { row in Cell.text(row.makeRandomAccess()[0]) ?? "" }.first ?? "")
        let counts = RegionRows.countsCharacters(serverEncoding: encoding)
        characterLengths = counts
        return counts
    }

    /// Stops every stream's fetching before the transaction ends.
    func closeStreams() {
        for stream in streams { stream.close() }
        streams.removeAll()
    }
}

/// The region key of a packed one (``PackedRegionKey``), remembering the last: rows come in region order.
struct RegionKeyCache {
    private var last: (packed: Int, key: RegionKey)?

    /// The key stored as `packed`; a value that is no packed key is a damaged row.
    mutating func key(_ packed: Int) throws -> RegionKey {
        if let last, last.packed == packed { return last.key }
        guard let key = PackedRegionKey(rawValue: packed) else { throw VersionDecoder.damaged(packed) }
        let region = key.regionKey
        last = (packed, region)
        return region
    }
}

/// Decodes version rows; remembers the last region, since rows come in key order.
struct VersionDecoder {
    private var regions = RegionKeyCache()

    mutating func decode(_ row: PostgresRow) throws -> StoredVersion {
        let cells = row.makeRandomAccess()
        let packed = Cell.int(cells[0]) ?? -1
        let region = try regions.key(packed)
        guard let service = Cell.int(cells[1]).flatMap(OZGID.init(value:)), let batch = Cell.int(cells[2]),
            let status = Cell.int(cells[3]).flatMap(Status.init(code:))
        else { throw Self.damaged(packed) }
        let values = RecordValues(
            status: status, maturity: Cell.int(cells[4]), maturityModel: Cell.int(cells[5]).flatMap(MaturityModel.init(rawValue:)),
            planned: Cell.int(cells[6]).flatMap(ISODate.init(packed:)), onlineSince: Cell.int(cells[7]).flatMap(ISODate.init(packed:)),
            url: Cell.text(cells[8]), solution: Cell.text(cells[9]), note: Cell.text(cells[10]))
        return StoredVersion(key: RecordKey(region: region, service: service), values: values, batch: batch)
    }

    static func damaged(_ packed: Int) -> StoreError {
        StoreError("the database holds a record it cannot read (stored region \(packed)): it may be damaged")
    }
}

/// Ends a stream's channel with the read's error when its connection closes.
private final class ChannelLoss: ConnectionLossObserver {
    let channel: ChunkChannel<[StoredVersion]>
    let configuration: PostgresConfiguration

    init(channel: ChunkChannel<[StoredVersion]>, configuration: PostgresConfiguration) {
        self.channel = channel
        self.configuration = configuration
    }

    func connectionLost() {
        channel.finish(Failure.message(for: ConnectionLost(), configuration: configuration, during: .read))
    }
}

/// The versions of a server-side cursor, fetched in pages by a task on the event loop while the consumer reads
/// the page before (at most ``capacity`` pages wait).
///
/// The cursor yields one row per region (``RegionRows``); a page is as many regions as make about ``pageVersions``
/// versions, judged from the regions fetched so far.
public final class PostgresVersionStream: VersionStream {
    private let channel: ChunkChannel<[StoredVersion]>
    /// The page being read by ``next()``.
    private var page: [StoredVersion] = []
    private var index = 0
    private var closed = false
    /// The versions a page aims at.
    static let pageVersions = 32_768
    /// The regions of the first page; later pages adapt to the versions per region seen.
    static let firstPageRegions = 16
    static let capacity = 6

    init(session: Session, cursor: String, countsCharacters: Bool) {
        let channel = ChunkChannel<[StoredVersion]>(capacity: Self.capacity)
        self.channel = channel
        let connection = session.connection
        let loss = ChannelLoss(channel: channel, configuration: session.configuration)
        let watch = session.watch
        if !watch.add(loss) { loss.connectionLost() }
        session.bridge.start {
            defer { watch.remove(loss) }
            var decoder = RegionRowDecoder(countsCharacters: countsCharacters)
            var regions = Self.firstPageRegions
            var totalRegions = 0
            var totalVersions = 0
            do {
                while true {
                    var page: [StoredVersion] = []
                    page.reserveCapacity(Self.pageVersions + Self.pageVersions / 4)
                    var fetched = 0
                    try Session.checkOpen(connection)
                    let fetch = PostgresQuery(unsafeSQL: "FETCH FORWARD \(regions) FROM \(cursor)")
                    for try await row in try await connection.query(fetch, logger: Session.logger) {
                        totalVersions += try decoder.decode(row, into: &page)
                        fetched += 1
                    }
                    totalRegions += fetched
                    if !page.isEmpty, !(await channel.put(consume page)) { break }
                    if fetched < regions { break }
                    regions = max(1, min(4_096, Self.pageVersions * totalRegions / max(totalVersions, 1)))
                }
                channel.finish(nil)
            } catch {
                channel.finish(Failure.message(for: error, configuration: session.configuration, during: .read))
            }
        }
    }

    public func next() throws -> StoredVersion? {
        while index == page.count {
            if closed { return nil }
            guard let next = try channel.take() else {
                closed = true
                page = []
                return nil
            }
            page = next
            index = 0
        }
        defer { index += 1 }
        return page[index]
    }

    /// Hands out whole pages (each holds whole regions, so every version of a key).
    public func nextPage(_ out: inout [StoredVersion]) throws -> Bool {
        if index < page.count {
            out = Array(page[index...])
            page = []
            index = 0
            return true
        }
        out = []
        if closed { return true }
        guard let next = try channel.take() else {
            closed = true
            page = []
            return true
        }
        out = next
        return true
    }

    /// Stops fetching and waits until the fetching task is done (before the transaction ends).
    func close() {
        channel.cancel()
        channel.waitUntilFinished()
        closed = true
        page = []
    }
}
