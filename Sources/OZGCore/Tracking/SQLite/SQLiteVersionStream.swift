import GRDB

/// Steps a prepared statement over `record_version` and decodes each row into a version.
///
/// Versions of batches after the bound are skipped before they are decoded (an as-of read decodes only what
/// it uses).
public final class SQLiteVersionStream: VersionStream {
    private let reader: SQLiteReader
    private let statement: RawStatement
    private let maxBatch: Int

    init(reader: SQLiteReader, statement: RawStatement, maxBatch: Int) {
        self.reader = reader
        self.statement = statement
        self.maxBatch = maxBatch
    }

    public func next() throws -> StoredVersion? {
        while try statement.step() {
            if statement.int(2) > maxBatch { continue }
            return try reader.decode(statement)
        }
        return nil
    }
}
