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

    /// Calls `body` for every change recorded at `from ... to` (both ends included; open when `nil`) to a
    /// record whose region key starts with `prefix` (or equals it when `exact`), optionally of one service, in
    /// key order and, per key, in time order. Each change carries the values before it (`nil` when it created
    /// the record), also when those were recorded before `from`.
    func forEachChange(
        prefix: String?, exact: Bool, service: OZGID?, from: Date?, to: Date?, _ body: (RecordChange) throws -> Void
    ) throws

    /// The time of the latest recorded change, if any.
    func latestChange() throws -> Date?
}

/// Records one at a time, in key order (region, then OZG-ID).
///
/// Two ways to read: ``next()`` gives whole records; ``nextVersion()`` gives a record's values with the id of
/// its batch, without building the provenance strings (look them up in ``provenance``): a report reads records
/// on one thread and builds rows on another, and strings shared by many rows would have their reference counts
/// bounce between the two cores. A cursor is used by one thread at a time and only while its reader is valid.
public protocol RecordCursor: AnyObject {
    /// The next record, or `nil` at the end.
    func next() throws -> StoredRecord?
    /// The next record's key and values and the batch that wrote them, or `nil` at the end.
    func nextVersion() throws -> StoredVersion?
    /// Who, when and from where, per batch id.
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
    /// Records `values` as the new state of `key`, as part of this write, unless they are its current values
    /// (a write that changes nothing leaves no trace). Returns whether a version was recorded.
    /// - Throws: ``StoreError`` when `key` already changed in this write (a record changes at most once per
    ///   batch), ``InputError`` (field `recorded-at`) when the batch's requested time is earlier than the
    ///   latest recorded change.
    @discardableResult
    func put(_ key: RecordKey, _ values: RecordValues) throws -> Bool

    /// Like ``put(_:_:)`` for a caller that has just read `current` (the record's values in this write, `nil`
    /// when it has none) and would otherwise have the store read them again; the national import into an
    /// empty store needs no look-up at all. `values` is taken over (moved into the store's buffer, not copied).
    @discardableResult
    func put(_ key: RecordKey, _ values: consuming RecordValues, current: RecordValues?) throws -> Bool
}

/// Where rollout records and their full history are kept.
///
/// The embedded default is ``SQLiteStore``; both it and any other database are a ``RecordStore`` over a
/// ``StoreBackend``, which holds every rule of the store (history, as-of reads, the batch clock, no-op writes)
/// once. Implementations keep every change (old and new values, who, when, from where), write atomically, let
/// concurrent processes wait for each other rather than fail, and never record a change that changes nothing.
public protocol TrackingStore: AnyObject, Sendable {
    /// Runs `body` with a reader over one consistent snapshot.
    func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T

    /// Runs `body` in one transaction: if it throws, nothing it wrote is kept. `batch` says who writes, from
    /// where, and when (now, unless back-filling); a write that puts nothing leaves no trace.
    @discardableResult
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
