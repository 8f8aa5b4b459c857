public import Foundation
import GRDB
import GRDBSQLite

/// The embedded default store: one SQLite file, through GRDB.
///
/// Layout: every write is a *batch* (`batch`: id, time, actor, source, command); every state a record ever had
/// is a *version* (`record_version`, keyed by region, OZG-ID and batch, without a rowid). The current state of a
/// record is its newest version; the state at any past time is its newest version up to that time, so
/// `--as-of` reads exactly like the present and history costs one row per change. Batch times never go
/// backwards, so batch ids and times order the same way.
///
/// The file uses WAL and a busy timeout: concurrent processes wait for each other instead of failing, and
/// readers never block writers. Schema changes go through GRDB's `DatabaseMigrator`, so newer versions of
/// ozgtrack open older files; a file written by a newer version is refused rather than misread.
public final class SQLiteStore: TrackingStore {
    /// How to open the file.
    public enum Mode: Sendable {
        /// Create the file if needed and bring its schema up to date (`ozgtrack init`).
        case create
        /// Open an existing file for writing (schema brought up to date).
        case write
        /// Open an existing file for reading.
        case read
    }

    /// The environment variable that names the database file.
    public static let environmentVariable = "OZGTRACK_DB"
    /// The default file, in the working directory.
    public static let defaultPath = "ozgtrack.sqlite"

    /// `--db` if given, else `OZGTRACK_DB`, else `./ozgtrack.sqlite`.
    public static func resolvePath(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let option, !option.isEmpty { return option }
        if let value = environment[environmentVariable], !value.isEmpty { return value }
        return defaultPath
    }

    /// The file's path.
    public let path: String
    let queue: DatabaseQueue

    /// Opens the store.
    /// - Parameters:
    ///   - path: the database file.
    ///   - mode: whether to create it, write to it or only read it.
    ///   - busyTimeout: how long to wait for another process's write to finish.
    /// - Throws: ``StoreError`` when the file is missing (except for `.create`), cannot be opened, is not an
    ///   ozgtrack database, or was written by a newer version.
    public init(path: String, mode: Mode, busyTimeout: TimeInterval = 120) throws(StoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && mode != .create {
            throw StoreError("no database at \(path): create one with 'ozgtrack init' (or name another with --db or OZGTRACK_DB)")
        }
        if !exists {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw StoreError("cannot create \(path): the directory \(directory) does not exist")
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.readonly = mode == .read
        configuration.label = "ozgtrack"
        configuration.prepareDatabase { db in
            if !db.configuration.readonly {
                // WAL: readers do not block the writer; NORMAL would risk the last commits on power loss.
                try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
            }
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            let migrator = Self.migrator
            if mode == .read {
                try queue.read { db in
                    if try migrator.hasBeenSuperseded(db) {
                        throw StoreError("\(path) was written by a newer version of ozgtrack: update ozgtrack to read it")
                    }
                    if try !migrator.hasCompletedMigrations(db) {
                        throw StoreError(
                            try db.tableExists("grdb_migrations") || db.tableExists("batch")
                                ? "\(path) has an older schema: run 'ozgtrack init' once to upgrade it"
                                : "\(path) is not an ozgtrack database")
                    }
                }
            } else {
                try queue.read { db in
                    if try migrator.hasBeenSuperseded(db) {
                        throw StoreError("\(path) was written by a newer version of ozgtrack: update ozgtrack to change it")
                    }
                    let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                    if !tables.isEmpty && !tables.contains("grdb_migrations") {
                        throw StoreError("\(path) is not an ozgtrack database (it has other tables): refusing to change it")
                    }
                }
                try migrator.migrate(queue)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.storeError(error, path: path)
        }
    }

    /// An empty store in memory (for reading commands before any database exists, and for tests).
    public static func inMemory() throws -> SQLiteStore { try SQLiteStore(memory: ()) }

    private init(memory: Void) throws {
        path = ":memory:"
        queue = try DatabaseQueue()
        try Self.migrator.migrate(queue)
    }

    /// The schema, one migration per version of the file format.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE batch (
                        id INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,          -- milliseconds since 1970, UTC; never decreasing
                        actor TEXT NOT NULL,
                        source TEXT NOT NULL,
                        command TEXT NOT NULL
                    );
                    CREATE INDEX batch_at ON batch(at);
                    CREATE TABLE record_version (
                        region INTEGER NOT NULL,      -- the key's digits padded to 9, times 16, plus its length (StoredKey)
                        ozg_id INTEGER NOT NULL,
                        batch INTEGER NOT NULL REFERENCES batch(id),
                        status INTEGER NOT NULL,      -- 0 not_started, 1 planned, 2 in_progress, 3 online, 4 not_applicable
                        maturity INTEGER,
                        maturity_model INTEGER,
                        planned INTEGER,              -- YYYYMMDD
                        online_since INTEGER,         -- YYYYMMDD
                        url TEXT,
                        solution TEXT,
                        note TEXT,
                        PRIMARY KEY (region, ozg_id, batch)
                    ) WITHOUT ROWID;
                    -- Records of units above the Gemeinde level, which count for the Gemeinden below them.
                    CREATE INDEX record_version_higher_level ON record_version(region, ozg_id, batch)
                        WHERE region % 16 <> 8;
                    """)
        }
        registerTokenMigration(&migrator)
        return migrator
    }

    public func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T {
        do {
            return try queue.read { db in
                let reader = SQLiteReader(db: db)
                defer { reader.finish() }
                return try body(reader)
            }
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path)
        }
    }

    public func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        do {
            return try queue.write { db in
                let writer = SQLiteWriter(db: db, batch: batch)
                defer { writer.finish() }
                return try body(writer)
            }
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path)
        }
    }

    /// Runs SQLite's own consistency check; "ok" when the file is sound.
    public func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    /// A database error in words for a person.
    static func storeError(_ error: any Error, path: String) -> StoreError {
        guard let error = error as? DatabaseError else { return StoreError("\(path): \(error)") }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError("\(path) stayed locked by another process for too long: nothing was written; try again")
        case .SQLITE_READONLY:
            return StoreError("\(path) is read-only: nothing was written")
        case .SQLITE_FULL:
            return StoreError("the disk holding \(path) is full: nothing was written")
        case .SQLITE_CANTOPEN:
            return StoreError("cannot open \(path): check that the file and its directory exist and are accessible")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError("\(path) is not an ozgtrack database or is damaged")
        case .SQLITE_IOERR:
            return StoreError("input/output error on \(path) (\(error.message ?? "no details")): nothing was written")
        default:
            return StoreError("\(path): \(error.message ?? "database error \(error.resultCode.rawValue)")")
        }
    }
}

// MARK: - Stored keys

/// How region keys are stored: the key's digits padded with zeros to nine, times 16, plus the key's length.
///
/// Integers make rows smaller and comparisons cheaper than text, and this packing keeps both properties the
/// store relies on: integer order equals the text order of the keys, and the keys starting with a prefix form
/// one range, ``range(_:)`` (shorter keys that only look like it after padding — Land `02` for the prefix
/// `02000` — fall below the range's lower end, which adds the prefix's length).
enum StoredKey {
    private static let powers: [Int] = (0...9).map { exponent in (0..<exponent).reduce(1) { product, _ in product * 10 } }

    private static func padded(_ digits: String) -> Int {
        var value = 0
        var count = 0
        for byte in digits.utf8 {
            value = value * 10 + Int(byte &- 0x30)
            count += 1
        }
        return value * powers[max(0, 9 - count)]
    }

    static func pack(_ key: RegionKey) -> Int {
        let text = key.description
        return padded(text) * 16 + text.utf8.count
    }

    static func unpack(_ stored: Int) -> RegionKey {
        let length = min(9, stored & 15)
        var value = (stored >> 4) / powers[9 - length]
        var digits = [UInt8](repeating: 0x30, count: length)
        var index = length - 1
        while index >= 0 {
            digits[index] = UInt8(0x30 + value % 10)
            value /= 10
            index -= 1
        }
        return RegionKey(canonical: String(decoding: digits, as: UTF8.self))
    }

    /// The half-open range of stored keys that start with `prefix`.
    static func range(_ prefix: String) -> (Int, Int) {
        let length = min(9, prefix.utf8.count)
        let low = padded(prefix)
        return (low * 16 + length, (low + powers[9 - length]) * 16)
    }

    /// The range holding exactly the key `prefix`.
    static func exact(_ key: String) -> (Int, Int) {
        let stored = padded(key) * 16 + key.utf8.count
        return (stored, stored + 1)
    }
}

// MARK: - Raw statements

/// A prepared statement driven through SQLite's C API.
///
/// Reading and writing millions of versions through GRDB's `Row` and `StatementArguments` allocates per row and
/// per value; binding and reading columns directly keeps the national import and reports near SQLite's own
/// speed (see docs/performance.md). GRDB still owns the connection, transactions and statement lifetime.
struct RawStatement {
    let statement: Statement
    var handle: SQLiteStatement { statement.sqliteStatement }

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                handle, index, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                RawStatement.transient)
        }
    }

    func bind(_ index: Int32, _ value: Int?) {
        if let value { sqlite3_bind_int64(handle, index, Int64(value)) } else { sqlite3_bind_null(handle, index) }
    }

    func reset(clearing: Bool = true) {
        sqlite3_reset(handle)
        if clearing { sqlite3_clear_bindings(handle) }
    }

    /// Steps once: `true` for a row, `false` when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let db = sqlite3_db_handle(handle)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.map { String(cString: sqlite3_errmsg($0)) })
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }

    func optionalInt(_ column: Int32) -> Int? { isNull(column) ? nil : int(column) }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}

// MARK: - Reader and writer

/// A batch as stored.
struct BatchRow {
    var at: Date
    var actor: String
    var source: String
}

class SQLiteReader: TrackingReader {
    let db: Database
    /// Batches by id, read once; a writer drops it when it adds its own batch.
    var batchCache: [Int: BatchRow]?

    init(db: Database) { self.db = db }

    func finish() {}

    static let versionColumns =
        "region, ozg_id, batch, status, maturity, maturity_model, planned, online_since, url, solution, note"

    static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    /// Every batch by id (small: one row per write).
    func batches() throws -> [Int: BatchRow] {
        if let batchCache { return batchCache }
        var result: [Int: BatchRow] = [:]
        let statement = try RawStatement(db, "SELECT id, at, actor, source FROM batch")
        while try statement.step() {
            result[statement.int(0)] = BatchRow(
                at: Date(timeIntervalSince1970: Double(statement.int(1)) / 1000), actor: statement.text(2) ?? "",
                source: statement.text(3) ?? "")
        }
        batchCache = result
        return result
    }

    /// The newest batch id recorded at or before `date` (every batch when `nil`); 0 when none.
    func batchBound(_ date: Date?) throws -> Int {
        guard let date else { return Int.max }
        let statement = try RawStatement(db, "SELECT max(id) FROM batch WHERE at <= ?")
        statement.bind(1, Self.milliseconds(date))
        _ = try statement.step()
        return statement.optionalInt(0) ?? 0
    }

    /// Decodes the version columns (in ``versionColumns`` order) at the statement's current row.
    func decode(_ statement: RawStatement) throws -> (key: RecordKey, batch: Int, values: RecordValues) {
        let region = regionKey(statement.int(0))
        guard let service = OZGID(value: statement.int(1)), let status = Status(code: statement.int(3)) else {
            throw StoreError("the database holds a record it cannot read (region \(region)): it may be damaged")
        }
        let maturity = statement.optionalInt(4)
        let values = RecordValues(
            status: status, maturity: maturity,
            maturityModel: statement.optionalInt(5).flatMap(MaturityModel.init(rawValue:)),
            planned: statement.optionalInt(6).flatMap(ISODate.init(packed:)),
            onlineSince: statement.optionalInt(7).flatMap(ISODate.init(packed:)),
            url: statement.text(8), solution: statement.text(9), note: statement.text(10))
        return (RecordKey(region: region, service: service), statement.int(2), values)
    }

    /// The batch of the previous record: consecutive records mostly share one.
    var lastBatch: (id: Int, row: BatchRow)?

    func stored(_ key: RecordKey, batch: Int, values: RecordValues) throws -> StoredRecord {
        let info: BatchRow
        if let lastBatch, lastBatch.id == batch {
            info = lastBatch.row
        } else {
            info = try batches()[batch] ?? BatchRow(at: Date(timeIntervalSince1970: 0), actor: "", source: "")
            lastBatch = (batch, info)
        }
        return StoredRecord(key: key, values: values, updatedAt: info.at, updatedBy: info.actor, source: info.source)
    }

    func isEmpty() throws -> Bool {
        let statement = try RawStatement(db, "SELECT 1 FROM record_version LIMIT 1")
        return try !statement.step()
    }

    /// The prepared look-up of one record, kept: imports into a filled database look up every row.
    private var currentStatement: RawStatement?

    func current(_ key: RecordKey, asOf: Date?) throws -> StoredRecord? {
        let statement: RawStatement
        if let currentStatement {
            statement = currentStatement
            statement.reset()
        } else {
            statement = try RawStatement(
                db,
                "SELECT \(Self.versionColumns) FROM record_version WHERE region = ? AND ozg_id = ? AND batch <= ? "
                    + "ORDER BY batch DESC LIMIT 1")
            currentStatement = statement
        }
        statement.bind(1, StoredKey.pack(key.region))
        statement.bind(2, key.service.value)
        statement.bind(3, try batchBound(asOf))
        guard try statement.step() else { return nil }
        let row = try decode(statement)
        return try stored(row.key, batch: row.batch, values: row.values)
    }

    /// The stored keys of the regions whose key starts with `prefix` (all when `nil`), as a half-open range.
    static func range(_ prefix: String?) -> (Int, Int) {
        guard let prefix else { return (0, Int.max) }
        return StoredKey.range(prefix)
    }

    /// The last region key decoded: rows come in key order, so most rows repeat it.
    private var lastRegion: (stored: Int, key: RegionKey)?

    /// The region key of a stored key.
    func regionKey(_ stored: Int) -> RegionKey {
        if let lastRegion, lastRegion.stored == stored { return lastRegion.key }
        let key = StoredKey.unpack(stored)
        lastRegion = (stored, key)
        return key
    }

    /// Walks versions in key order and hands on the newest of each key (up to `bound`).
    private func newestPerKey(_ statement: RawStatement, bound: Int, _ body: (StoredRecord) throws -> Bool) throws {
        var pending: (key: RecordKey, batch: Int, values: RecordValues)?
        while try statement.step() {
            if statement.int(2) > bound { continue }
            let row = try decode(statement)
            if let previous = pending, previous.key != row.key {
                if try !body(try stored(previous.key, batch: previous.batch, values: previous.values)) { return }
            }
            pending = row
        }
        if let pending { _ = try body(try stored(pending.key, batch: pending.batch, values: pending.values)) }
    }

    func records(prefix: String?, asOf: Date?) throws -> any RecordCursor {
        // Everything that goes through GRDB happens here, on the caller's thread: a report may step the cursor
        // from a thread of its own (see ReportRows).
        let provenance = try batches()
        let (low, high) = Self.range(prefix)
        let statement = try RawStatement(
            db,
            "SELECT \(Self.versionColumns) FROM record_version WHERE region >= ? AND region < ? "
                + "ORDER BY region, ozg_id, batch")
        statement.bind(1, low)
        statement.bind(2, high)
        return SQLiteRecordCursor(reader: self, statement: statement, bound: try batchBound(asOf), provenance: provenance)
    }

    func forEachHigherLevelRecord(asOf: Date?, _ body: (StoredRecord) throws -> Void) throws {
        let statement = try RawStatement(
            db,
            "SELECT \(Self.versionColumns) FROM record_version INDEXED BY record_version_higher_level "
                + "WHERE region % 16 <> 8 ORDER BY region, ozg_id, batch")
        try newestPerKey(statement, bound: try batchBound(asOf)) { record in
            try body(record)
            return true
        }
    }

    func forEachChange(
        prefix: String?, exact: Bool, service: OZGID?, from: Date?, to: Date?, _ body: (RecordChange) throws -> Void
    ) throws {
        let (low, high) = exact ? prefix.map { StoredKey.exact($0) } ?? (0, 0) : Self.range(prefix)
        var sql = "SELECT \(Self.versionColumns) FROM record_version WHERE "
        sql += "region >= ? AND region < ?"
        if service != nil { sql += " AND ozg_id = ?" }
        sql += " ORDER BY region, ozg_id, batch"
        let statement = try RawStatement(db, sql)
        statement.bind(1, low)
        statement.bind(2, high)
        if let service { statement.bind(3, service.value) }
        let lower = try from.map { try batchBound($0.addingTimeInterval(-0.001)) } ?? 0
        let upper = try batchBound(to)
        let batches = try batches()
        var previous: (key: RecordKey, values: RecordValues)?
        while try statement.step() {
            let row = try decode(statement)
            let old = previous?.key == row.key ? previous?.values : nil
            previous = (row.key, row.values)
            guard row.batch > lower, row.batch <= upper, let info = batches[row.batch] else { continue }
            try body(RecordChange(key: row.key, old: old, new: row.values, at: info.at, actor: info.actor, source: info.source))
        }
    }

    func latestChange() throws -> Date? {
        let statement = try RawStatement(db, "SELECT max(at) FROM batch")
        _ = try statement.step()
        return statement.optionalInt(0).map { Date(timeIntervalSince1970: Double($0) / 1000) }
    }
}

/// Walks versions in key order and hands out the newest of each key up to a batch bound.
final class SQLiteRecordCursor: VersionCursor {
    private let reader: SQLiteReader
    private let statement: RawStatement
    private let bound: Int
    private var pending: (key: RecordKey, batch: Int, values: RecordValues)?
    private var done = false
    let provenance: [Int: BatchRow]

    init(reader: SQLiteReader, statement: RawStatement, bound: Int, provenance: [Int: BatchRow]) {
        self.reader = reader
        self.statement = statement
        self.bound = bound
        self.provenance = provenance
    }

    func nextVersion() throws -> (key: RecordKey, values: RecordValues, batch: Int)? {
        while !done {
            guard try statement.step() else {
                done = true
                break
            }
            if statement.int(2) > bound { continue }
            let row = try reader.decode(statement)
            if let previous = pending, previous.key != row.key {
                pending = row
                return (previous.key, previous.values, previous.batch)
            }
            pending = row
        }
        guard let last = pending else { return nil }
        pending = nil
        return (last.key, last.values, last.batch)
    }

    func next() throws -> StoredRecord? {
        guard let version = try nextVersion() else { return nil }
        return try reader.stored(version.key, batch: version.batch, values: version.values)
    }
}

final class SQLiteWriter: SQLiteReader, TrackingWriter {
    private let batch: BatchInfo
    private var batchID: Int?
    private var insert: RawStatement?

    init(db: Database, batch: BatchInfo) {
        self.batch = batch
        super.init(db: db)
    }

    /// Creates the batch on the first change, so that a write that changes nothing leaves no trace.
    private func openBatch() throws -> Int {
        if let batchID { return batchID }
        let latest = try latestChange()
        var at = batch.at ?? Date()
        if let latest, at < latest {
            if let requested = batch.at {
                throw InputError(
                    field: "recorded-at",
                    message: "'\(Timestamp.string(requested))' is earlier than the latest recorded change "
                        + "(\(Timestamp.string(latest))): expected a later time, history is only appended to")
            }
            at = latest  // the clock went back: keep times in order
        }
        let statement = try RawStatement(db, "INSERT INTO batch (at, actor, source, command) VALUES (?, ?, ?, ?)")
        statement.bind(1, Self.milliseconds(at))
        statement.bind(2, batch.actor)
        statement.bind(3, batch.source)
        statement.bind(4, batch.command)
        _ = try statement.step()
        let id = Int(db.lastInsertedRowID)
        batchID = id
        batchCache = nil
        lastBatch = nil
        insert = try RawStatement(db, "INSERT INTO record_version (\(Self.versionColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
        return id
    }

    func put(_ key: RecordKey, _ values: RecordValues) throws {
        let id = try openBatch()
        guard let insert else { return }
        insert.bind(1, StoredKey.pack(key.region))
        insert.bind(2, key.service.value)
        insert.bind(3, id)
        insert.bind(4, values.status.code)
        insert.bind(5, values.maturity)
        insert.bind(6, values.maturityModel?.rawValue)
        insert.bind(7, values.planned?.packed)
        insert.bind(8, values.onlineSince?.packed)
        insert.bind(9, values.url)
        insert.bind(10, values.solution)
        insert.bind(11, values.note)
        defer { insert.reset(clearing: false) }  // every parameter is bound on each row
        _ = try insert.step()
    }
}
