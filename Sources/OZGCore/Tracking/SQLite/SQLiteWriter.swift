import GRDB

/// Appends batches and versions inside one SQLite write transaction.
public final class SQLiteWriter: SQLiteReader, BackendWriter {
    private var insert: RawStatement?

    public func appendBatch(_ batch: NewBatch) throws -> Int {
        let statement = try RawStatement(db, "INSERT INTO batch (at, actor, source, command) VALUES (?, ?, ?, ?)")
        statement.bind(1, BatchTimeline.milliseconds(batch.at))
        statement.bind(2, batch.actor)
        statement.bind(3, batch.source)
        statement.bind(4, batch.command)
        _ = try statement.step()
        return Int(db.lastInsertedRowID)
    }

    public func append(_ versions: [StoredVersion]) throws {
        let insert: RawStatement
        if let prepared = self.insert {
            insert = prepared
        } else {
            insert = try RawStatement(
                db, "INSERT INTO record_version (\(Self.versionColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
            self.insert = insert
        }
        for version in versions {
            let values = version.values
            insert.bind(1, PackedRegionKey(version.key.region).rawValue)
            insert.bind(2, version.key.service.value)
            insert.bind(3, version.batch)
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
}
