public import OZGCore

/// How `ozgtrack serve` runs: where it listens and which limits it keeps. The command-line tool fills it from its
/// options; the service reads no environment.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback by default, so that nothing is exposed by accident.
    public var host = "127.0.0.1"
    /// The TCP port; 0 picks a free one (the chosen port is announced through `onListening`).
    public var port = 8080
    /// Whether reading needs no token.
    public var publicRead = false
    /// The largest request body accepted, in bytes: 1 GiB by default, so that a national import (about 330 MB of
    /// CSV) fits. A larger body is refused with 413 and nothing is written.
    public var maxBodyBytes = 1 << 30
    /// Requests per second each token may make (averaged over `rateBurst` requests); 0 turns the limit off.
    public var rateLimit: Double = 50
    /// How many requests a token may make at once above its rate.
    public var rateBurst = 100
    /// Seconds a connection may stay idle (a stalled client is dropped after this).
    public var idleTimeout = 60
    /// Threads that run short store work (status, history, token look-ups); reports and imports get threads of
    /// their own, so that a national report never holds up a status request.
    public var storeThreads = 4
    /// How many encoded status documents are kept for reuse while the store does not change (0: none).
    public var cachedDocuments = 128

    public init() {}
}

/// The store as the service shares it between request threads.
///
/// `@unchecked Sendable`: the store serialises its own access (``SQLiteStore`` runs every read and write through
/// one GRDB `DatabaseQueue`); the service never touches it from two threads without going through it.
public final class ServiceStore: @unchecked Sendable {
    let tracking: any TrackingStore
    let tokens: any TokenStore

    /// The store that holds the records and the tokens.
    public init(_ store: some TrackingStore & TokenStore) {
        tracking = store
        tokens = store
    }
}
