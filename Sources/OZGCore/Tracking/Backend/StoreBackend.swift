public import Foundation

// The seam between ozgtrack's record store and a database.
//
// A backend only stores and streams two kinds of rows: *batches* (one per write that changed something: id,
// time, actor, source, command) and *versions* (every state a record ever had: key, values, batch). Everything
// the rows mean — the state at a time, the newest version per key, old and new values of a change, the batch
// clock, "a write that changes nothing leaves no trace" — is decided once, in ``RecordStore``, on top of these
// calls. A second backend (PostgreSQL) implements these protocols and gets the same rules and the same fast
// report path; the store contract test suite checks that it does.

/// A batch as stored: one write that changed something.
public struct BatchRow: Sendable, Hashable {
    /// The batch's id: positive, increasing with commit order.
    public var id: Int
    /// When it was recorded (whole milliseconds, UTC); never earlier than any batch with a smaller id.
    public var at: Date
    /// Who wrote it.
    public var actor: String
    /// Where it came from: `cli` or a file name.
    public var source: String
    /// The command that wrote it (`set`, `import`).
    public var command: String

    public init(id: Int, at: Date, actor: String, source: String, command: String) {
        self.id = id
        self.at = at
        self.actor = actor
        self.source = source
        self.command = command
    }
}

/// A batch about to be stored: its id is given by the backend.
public struct NewBatch: Sendable, Hashable {
    /// When it is recorded (whole milliseconds: ``RecordStore`` truncates).
    public var at: Date
    public var actor: String
    public var source: String
    public var command: String

    public init(at: Date, actor: String, source: String, command: String) {
        self.at = at
        self.actor = actor
        self.source = source
        self.command = command
    }
}

/// One version of a record: its key, its values, and the batch that wrote them.
public struct StoredVersion: Sendable, Hashable {
    public var key: RecordKey
    public var values: RecordValues
    /// The id of the batch that wrote it.
    public var batch: Int

    public init(key: RecordKey, values: RecordValues, batch: Int) {
        self.key = key
        self.values = values
        self.batch = batch
    }
}

/// Which versions a backend streams.
public struct VersionSelection: Sendable, Hashable {
    /// Which regions' versions.
    public enum Regions: Sendable, Hashable {
        /// Every region.
        case all
        /// Regions whose key starts with the prefix (one to nine digits): the packed keys in
        /// ``PackedRegionKey/range(prefix:)``.
        case prefix(String)
        /// Exactly this region.
        case exact(RegionKey)
        /// Regions above the Gemeinde level: every key that is not ``PackedRegionKey/isGemeinde`` (Länder,
        /// Bezirke, Kreise, Verbände). A backend may serve this from a partial index.
        case higherLevels
    }

    public var regions: Regions
    /// Only this service, when given.
    public var service: OZGID?
    /// Only versions of batches up to this id (inclusive), when given. A backend may skip later versions
    /// before decoding them (an as-of read of a long history then decodes only what it uses).
    public var maxBatch: Int?
    /// Fields the reader does not need. A backend may leave them `nil` in the versions it streams (SQLite does,
    /// for the optional ones: it then neither reads nor builds their texts); it may also read them as always.
    /// Status, key and batch are always read.
    public var omitting: Set<RecordField>

    public init(regions: Regions, service: OZGID? = nil, maxBatch: Int? = nil, omitting: Set<RecordField> = []) {
        self.regions = regions
        self.service = service
        self.maxBatch = maxBatch
        self.omitting = omitting
    }
}

/// Every selected version, one at a time, ordered by region (``PackedRegionKey`` order, which is the keys'
/// text order), then OZG-ID, then batch id.
///
/// A stream is used by one thread at a time (a report steps it on a thread of its own while the thread that
/// opened it waits); it is valid only inside the ``StoreBackend/read(_:)`` or ``StoreBackend/write(_:)`` call
/// that made it. Streams of national reads (6 million versions) must run in bounded memory: a server database
/// uses a server-side cursor and fetches in pages.
public protocol VersionStream: AnyObject {
    /// The next version, or `nil` at the end.
    func next() throws -> StoredVersion?
    /// For streams that read in pages: replaces `page` with the next versions in order — every version of a key
    /// in the same page — and returns `true` (`page` is empty at the end). Returns `false`, leaving `page` as it
    /// is, when the stream does not hand out pages; then ``next()`` reads it. A caller uses one or the other.
    ///
    /// A page is handed over as it is, not version by version: at national scale each version's trip through
    /// ``next()`` and the cursor above it cost several copies (`perf probe` on `memmove`: about 14 copies of
    /// 136-146 bytes per row of the national CSV report from PostgreSQL).
    func nextPage(_ page: inout [StoredVersion]) throws -> Bool
}

extension VersionStream {
    /// Streams read version by version unless they implement pages.
    public func nextPage(_ page: inout [StoredVersion]) throws -> Bool { false }
}

/// Reads one consistent snapshot of a backend.
public protocol BackendReader: AnyObject {
    /// The stream type this backend hands out.
    associatedtype Versions: VersionStream

    /// Every batch, by increasing id (small: one row per write that changed something).
    func batches() throws -> [BatchRow]

    /// The batch with the greatest id, if any.
    func latestBatch() throws -> BatchRow?

    /// Whether at least one version is stored.
    func hasVersions() throws -> Bool

    /// The version of `key` with the greatest batch id not above `maxBatch`, if any: one index seek (an import
    /// into a filled store asks this for every row).
    func latestVersion(of key: RecordKey, maxBatch: Int) throws -> StoredVersion?

    /// A hint: ``latestVersion(of:maxBatch:)`` is about to be asked for `keys` (in any order, each about once) with
    /// this `maxBatch`. A backend whose look-ups cost a round trip each (a server database) may fetch the answers
    /// for all of them at once and serve the look-ups from memory; it then answers them exactly as it would have
    /// without the hint — also after versions of these keys are appended in the same transaction, before or after
    /// the hint. The hint holds until the next one. An import into a filled store gives it once per chunk of 4,096
    /// rows: a file in random key order cost one round trip per row without it.
    func prefetch(_ keys: [RecordKey], maxBatch: Int) throws

    /// The selected versions, in stream order (region, OZG-ID, batch).
    func versions(_ selection: VersionSelection) throws -> Versions
}

extension BackendReader {
    /// Backends whose look-ups are cheap ignore the hint (SQLite: a look-up is an index seek in the process).
    public func prefetch(_ keys: [RecordKey], maxBatch: Int) throws {}
}

/// Reads and appends inside one write transaction.
///
/// Reads through a writer see the committed state plus everything this transaction appended.
public protocol BackendWriter: BackendReader {
    /// Stores a batch and returns its id, greater than every id stored before.
    func appendBatch(_ batch: NewBatch) throws -> Int

    /// Stores versions (many at once: a server database sends them in one `COPY`). No version has the key and
    /// batch of a stored version.
    func append(_ versions: [StoredVersion]) throws
}

/// A database that stores batches and versions.
///
/// What a backend guarantees (``RecordStore`` relies on it; the store contract test suite checks it):
/// - **Snapshots:** everything read inside one ``read(_:)`` call comes from one consistent snapshot; readers
///   never block writers.
/// - **Atomic writes:** ``write(_:)`` runs `body` in one transaction; if `body` throws, nothing it appended is
///   kept, and the error is rethrown.
/// - **Serialised writers:** write transactions — also from other processes and other handles on the same
///   database — take effect one after another: from the first read inside `body` to the commit, no other
///   write commits. (``RecordStore`` reads the latest batch and the current versions inside the transaction and
///   decides on them: the batch clock and "no change, no version" need it.) A backend waits for a busy
///   database rather than failing at once (SQLite: a busy timeout with `BEGIN IMMEDIATE`; PostgreSQL: e.g. a
///   transaction-level advisory lock taken at the start of the write).
/// - **Order:** streams come in ``VersionStream`` order; batch ids increase with commit order.
/// - **Errors:** database failures come out as ``StoreError`` (in words for a person, naming the database).
public protocol StoreBackend: Sendable {
    associatedtype Reader: BackendReader
    associatedtype Writer: BackendWriter

    /// Runs `body` with a reader over one consistent snapshot.
    func read<T>(_ body: (Reader) throws -> T) throws -> T

    /// Runs `body` in one write transaction (see the guarantees above).
    func write<T>(_ body: (Writer) throws -> T) throws -> T
}
