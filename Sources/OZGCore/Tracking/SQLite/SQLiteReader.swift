import Foundation
import GRDB
import GRDBSQLite

/// Reads batches and versions from one SQLite snapshot.
public class SQLiteReader: BackendReader {
    let db: Database
    /// The connection's reusable statements.
    let statements: StatementCache

    init(db: Database, statements: StatementCache) {
        self.db = db
        self.statements = statements
    }

    /// Runs `body` with the connection's statement for `sql`, then gives it back reset.
    private func withStatement<T>(_ sql: String, _ body: (RawStatement) throws -> T) throws -> T {
        let statement = try statements.take(db, sql)
        defer { statements.give(statement, sql: sql) }
        return try body(statement)
    }

    static let versionColumns =
        "region, ozg_id, batch, status, maturity, maturity_model, planned, online_since, url, solution, note"

    static let batchColumns = "id, at, actor, source, command"

    /// The batch at the statement's current row (columns in ``batchColumns`` order).
    static func batch(_ statement: RawStatement) -> BatchRow {
        BatchRow(
            id: statement.int(0), at: Date(timeIntervalSince1970: Double(statement.int(1)) / 1000),
            actor: statement.text(2) ?? "", source: statement.text(3) ?? "", command: statement.text(4) ?? "")
    }

    public func batches() throws -> [BatchRow] {
        try withStatement("SELECT \(Self.batchColumns) FROM batch ORDER BY id") { statement in
            var result: [BatchRow] = []
            while try statement.step() { result.append(Self.batch(statement)) }
            return result
        }
    }

    public func latestBatch() throws -> BatchRow? {
        try withStatement("SELECT \(Self.batchColumns) FROM batch ORDER BY id DESC LIMIT 1") { statement in
            try statement.step() ? Self.batch(statement) : nil
        }
    }

    public func hasVersions() throws -> Bool {
        try withStatement("SELECT 1 FROM record_version LIMIT 1") { statement in try statement.step() }
    }

    /// The last region key decoded: rows come in key order, so most rows repeat it.
    private var lastRegion: (stored: Int, key: RegionKey)?

    /// The region key of a stored key.
    func regionKey(_ stored: Int) throws -> RegionKey {
        if let lastRegion, lastRegion.stored == stored { return lastRegion.key }
        guard let packed = PackedRegionKey(rawValue: stored) else {
            throw StoreError("the database holds a record it cannot read (region \(stored)): it may be damaged")
        }
        let key = packed.regionKey
        lastRegion = (stored, key)
        return key
    }

    /// Decodes the version columns (in ``versionColumns`` order) at the statement's current row.
    func decode(_ statement: RawStatement) throws -> StoredVersion {
        let region = try regionKey(statement.int(0))
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
        return StoredVersion(key: RecordKey(region: region, service: service), values: values, batch: statement.int(2))
    }

    /// The prepared look-up of one record, kept: imports into a filled database look up every row.
    private var latestStatement: RawStatement?

    public func latestVersion(of key: RecordKey, maxBatch: Int) throws -> StoredVersion? {
        let statement: RawStatement
        if let latestStatement {
            statement = latestStatement
            statement.reset()
        } else {
            statement = try RawStatement(
                db,
                "SELECT \(Self.versionColumns) FROM record_version WHERE region = ? AND ozg_id = ? AND batch <= ? "
                    + "ORDER BY batch DESC LIMIT 1")
            latestStatement = statement
        }
        statement.bind(1, PackedRegionKey(key.region).rawValue)
        statement.bind(2, key.service.value)
        statement.bind(3, maxBatch)
        guard try statement.step() else { return nil }
        return try decode(statement)
    }

    /// The version columns (in ``versionColumns`` order) with `NULL` in place of the omitted optional ones.
    static func versionColumns(omitting omitted: Set<RecordField>) -> String {
        guard !omitted.isEmpty else { return versionColumns }
        let optional: [(RecordField, String)] = [
            (.maturity, "maturity"), (.maturityModel, "maturity_model"), (.planned, "planned"),
            (.onlineSince, "online_since"), (.url, "url"), (.solution, "solution"), (.note, "note"),
        ]
        let columns = optional.map { omitted.contains($0.0) ? "NULL" : $0.1 }
        return (["region", "ozg_id", "batch", "status"] + columns).joined(separator: ", ")
    }

    public func versions(_ selection: VersionSelection) throws -> SQLiteVersionStream {
        var sql = "SELECT \(Self.versionColumns(omitting: selection.omitting)) FROM record_version"
        let range: Range<Int>?
        switch selection.regions {
        case .all:
            range = nil
        case .prefix(let prefix):
            range = PackedRegionKey.range(prefix: prefix)
        case .exact(let key):
            range = PackedRegionKey(key).exactRange
        case .higherLevels:
            // The partial index's own predicate: every packed key whose length (low four bits) is not 8.
            sql += " INDEXED BY record_version_higher_level"
            range = nil
        }
        var conditions: [String] = []
        if selection.regions == .higherLevels { conditions.append("region % 16 <> 8") }
        if range != nil { conditions.append("region >= ? AND region < ?") }
        if selection.service != nil { conditions.append("ozg_id = ?") }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY region, ozg_id, batch"
        let statement = try statements.take(db, sql)
        var index: Int32 = 1
        if let range {
            statement.bind(index, range.lowerBound)
            statement.bind(index + 1, range.upperBound)
            index += 2
        }
        if let service = selection.service { statement.bind(index, service.value) }
        return SQLiteVersionStream(
            reader: self, statement: statement, maxBatch: selection.maxBatch ?? Int.max,
            giveBack: { [statements] in statements.give(statement, sql: sql) })
    }
}
