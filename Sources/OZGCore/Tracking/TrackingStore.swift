public import Foundation

/// Reads recorded rollout data, in one consistent snapshot.
///
/// Region filters are key prefixes: a Land's records are those whose region key starts with its two digits
/// (its Bezirke, Kreise, Verbände and Gemeinden). Everything is returned in key order (region, then OZG-ID).
public protocol TrackingReader: AnyObject {
    /// Whether nothing was ever recorded.
    func isEmpty() throws -> Bool

    /// The values of `key` at `asOf` (now when `nil`), or `nil` if it had no record then.
    func current(_ key: RecordKey, asOf: Date?) throws -> StoredRecord?

    /// A cursor over every record at `asOf` whose region key starts with `prefix` (every record when `nil`),
    /// in key order. It is valid only while the reader is.
    func records(prefix: String?, asOf: Date?) throws -> any RecordCursor

    /// Calls `body` for every record at `asOf` of a unit above the Gemeinde level (keys of 2, 3, 5 or 9
    /// digits), in key order. Used to count services a Kreis or Land offers for its Gemeinden.
    func forEachHigherLevelRecord(asOf: Date?, _ body: (StoredRecord) throws -> Void) throws

    /// Calls `body` for every change recorded at `from ..< to` (open ends when `nil`) to a record whose
    /// region key starts with `prefix` (or equals it when `exact`), optionally of one service, in key order
    /// and, per key, in time order.
    func forEachChange(
        prefix: String?, exact: Bool, service: OZGID?, from: Date?, to: Date?, _ body: (RecordChange) throws -> Void
    ) throws

    /// The time of the latest recorded change, if any.
    func latestChange() throws -> Date?
}

/// Records one at a time, in key order (region, then OZG-ID).
public protocol RecordCursor: AnyObject {
    /// The next record, or `nil` at the end.
    func next() throws -> StoredRecord?
}

/// A cursor that hands out a record's values with a reference to its batch, without building the provenance
/// strings: a report reads records on one thread and builds rows on another, and strings shared by many rows
/// would have their reference counts bounce between the two cores.
protocol VersionCursor: RecordCursor {
    /// The next record's key and values, and the batch that wrote them.
    func nextVersion() throws -> (key: RecordKey, values: RecordValues, batch: Int)?
    /// Who, when and from where, per batch.
    var provenance: [Int: BatchRow] { get }
}

extension TrackingReader {
    /// Calls `body` for every record at `asOf` whose region key starts with `prefix` (every record when
    /// `nil`), in key order; `body` returns `false` to stop.
    public func forEachRecord(prefix: String?, asOf: Date?, _ body: (StoredRecord) throws -> Bool) throws {
        let cursor = try records(prefix: prefix, asOf: asOf)
        while let record = try cursor.next() {
            if try !body(record) { return }
        }
    }
}

/// Writes to the record store. Everything written through one writer lands together, or not at all.
public protocol TrackingWriter: TrackingReader {
    /// Records `values` as the new state of `key`, as part of this write.
    func put(_ key: RecordKey, _ values: RecordValues) throws
}

/// Where rollout records and their full history are kept.
///
/// The embedded default is ``SQLiteStore``; a server database can implement the same protocol without
/// changes to the CLI or the exporters. Implementations keep every change (old and new values, who, when,
/// from where), write atomically, let concurrent processes wait for each other rather than fail, and never
/// record a change that changes nothing.
public protocol TrackingStore: AnyObject {
    /// Runs `body` with a reader over one consistent snapshot.
    func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T

    /// Runs `body` in one transaction: if it throws, nothing it wrote is kept. `batch` says who writes, from
    /// where, and when (now, unless back-filling); a write that puts nothing leaves no trace.
    func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T
}

/// A store that cannot do what was asked: it cannot be opened, is locked for too long, is full, or was
/// written by a newer version.
public struct StoreError: DescribedError {
    /// What failed, in words for a person.
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
