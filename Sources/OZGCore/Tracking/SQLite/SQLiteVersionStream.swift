import GRDB

/// Steps a prepared statement over `record_version` and decodes each row into a version.
///
/// Versions of batches after the bound are skipped before they are decoded (an as-of read decodes only what
/// it uses).
public final class SQLiteVersionStream: VersionStream {
    private let reader: SQLiteReader
    private let statement: RawStatement
    private let maxBatch: Int
    /// Hands the statement back to the connection's cache (at the end, or when the stream is dropped before it).
    private var giveBack: (() -> Void)?

    init(reader: SQLiteReader, statement: RawStatement, maxBatch: Int, giveBack: @escaping () -> Void) {
        self.reader = reader
        self.statement = statement
        self.maxBatch = maxBatch
        self.giveBack = giveBack
    }

    deinit { giveBack?() }

    public func next() throws -> StoredVersion? {
        guard giveBack != nil else { return nil }
        while try statement.step() {
            if statement.int(2) > maxBatch { continue }
            return try reader.decode(statement)
        }
        giveBack?()
        giveBack = nil
        return nil
    }
}
