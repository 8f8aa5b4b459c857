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
///
/// The store's rules live in ``RecordStore``; this class opens the file and hands a ``SQLiteBackend`` to it.
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

    /// The file's path.
    public let path: String
    let queue: DatabaseQueue
    /// The store's rules over this file.
    public let store: RecordStore<SQLiteBackend>

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
            throw StoreError("no database at \(path): create one with 'ozgtrack init'")
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
        store = RecordStore(backend: SQLiteBackend(queue: queue, path: path))
    }

    /// An empty store in memory (for reading commands before any database exists, and for tests).
    public static func inMemory() throws -> SQLiteStore { try SQLiteStore(memory: ()) }

    private init(memory: Void) throws {
        path = ":memory:"
        queue = try DatabaseQueue()
        try Self.migrator.migrate(queue)
        store = RecordStore(backend: SQLiteBackend(queue: queue, path: path))
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
                        region INTEGER NOT NULL,      -- the key's digits padded to 9, times 16, plus its length (PackedRegionKey)
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
                    -- Records of units above the Gemeinde level, which count for the Gemeinden below them
                    -- (PackedRegionKey: the low four bits are the key's length, 8 for a Gemeinde).
                    CREATE INDEX record_version_higher_level ON record_version(region, ozg_id, batch)
                        WHERE region % 16 <> 8;
                    """)
        }
        registerTokenMigration(&migrator)
        return migrator
    }

    public func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T { try store.read(body) }

    @discardableResult

    public func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        try store.write(batch, body)
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

/// The SQLite backend: batches in `batch`, versions in `record_version` (see ``SQLiteStore`` for the layout).
///
/// GRDB's `DatabaseQueue` serialises this process's access; write transactions are `IMMEDIATE`, so a writer holds
/// SQLite's write lock from its first statement to its commit and other processes wait (busy timeout).
public struct SQLiteBackend: StoreBackend {
    let queue: DatabaseQueue
    let path: String
    /// The connection's reusable statements (the queue has one connection).
    let statements = StatementCache()

    public func read<T>(_ body: (SQLiteReader) throws -> T) throws -> T {
        do {
            return try queue.read { db in try body(SQLiteReader(db: db, statements: statements)) }
        } catch let error as DatabaseError {
            throw SQLiteStore.storeError(error, path: path)
        }
    }

    public func write<T>(_ body: (SQLiteWriter) throws -> T) throws -> T {
        do {
            return try queue.write { db in try body(SQLiteWriter(db: db, statements: statements)) }
        } catch let error as DatabaseError {
            throw SQLiteStore.storeError(error, path: path)
        }
    }
}
