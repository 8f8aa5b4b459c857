import Foundation
import GRDB
import GRDBSQLite

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

    init(_ statement: Statement) { self.statement = statement }

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

/// The read statements of one connection, prepared once and reused.
///
/// Preparing is not free: GRDB's authoriser calls back for every column a statement reads, and a status request of
/// the service prepared five statements (about 5 % of its CPU, `perf record` in docs/performance.md, "The
/// service"). A statement is handed to one user at a time (``take(_:_:)``) and comes back reset (``give(_:sql:)``),
/// so two cursors over the same SQL never share one, and none stays busy — holding its snapshot — after its read.
final class StatementCache: @unchecked Sendable {
    private let lock = NSLock()
    /// Idle statements by SQL (a lock: a cursor may end on another thread than the one that took it).
    private var idle: [String: [Statement]] = [:]

    /// An idle statement for `sql`, or a new one.
    func take(_ db: Database, _ sql: String) throws -> RawStatement {
        let statement = lock.withLock { idle[sql]?.popLast() }
        return RawStatement(try statement ?? db.makeStatement(sql: sql))
    }

    /// Resets `statement` (releasing its snapshot) and keeps it for the next ``take(_:_:)``.
    func give(_ statement: RawStatement, sql: String) {
        statement.reset()
        lock.withLock { idle[sql, default: []].append(statement.statement) }
    }
}
