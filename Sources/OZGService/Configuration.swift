import Foundation
public import OZGCore
import Synchronization

/// How `ozgtrack serve` runs: where it listens and which limits it keeps. The command-line tool fills it from its
/// options; the service reads no environment.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback by default, so that nothing is exposed by accident.
    public var host = "127.0.0.1"
    /// The certificate and key for HTTPS; `nil` serves plain HTTP (on loopback, or behind a reverse proxy that
    /// terminates TLS).
    public var tls: TLSIdentity?
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
    /// Requests per second each client address may make without a token (public reads; refused writes count
    /// too); 0 turns the limit off. Behind a reverse proxy every request comes from the proxy's address: limit
    /// there, and turn this off.
    public var anonymousRateLimit: Double = 20
    /// How many requests without a token an address may make at once above its rate.
    public var anonymousRateBurst = 40
    /// Seconds a connection may stay idle (a stalled client is dropped after this).
    public var idleTimeout = 60
    /// Threads that run short store work (status, history, token look-ups): one per core by default — the work is
    /// CPU-bound, and more threads than cores only take turns. Reports and imports get threads of their own, so
    /// that a national report never holds up a status request.
    public var storeThreads = max(2, ProcessInfo.processInfo.activeProcessorCount)
    /// How many encoded status documents are kept for reuse while the store does not change (0: none).
    public var cachedDocuments = 128

    public init() {}
}

/// The store as the service shares it between request threads.
///
/// Short reads (a status document, a token look-up) go to *reader* connections when the caller can open them
/// (`openReader`): SQLite reads from several connections at once in WAL mode, while one connection (GRDB's
/// `DatabaseQueue`) serialises everything sent through it — one connection would cap status documents at what one
/// core reads, and a national report running on it would hold up every status request. Writes, and reads when no
/// reader can be opened, go to the main store.
///
/// `@unchecked Sendable`: each store serialises its own access (``SQLiteStore`` runs every read and write through
/// one GRDB `DatabaseQueue`); a reader is used by one thread at a time (checked out from `idle`).
public final class ServiceStore: @unchecked Sendable {
    let tracking: any TrackingStore
    let tokens: any TokenStore
    private let openReader: (@Sendable () throws -> any TrackingStore & TokenStore)?
    private let idle = Mutex<[any TrackingStore & TokenStore]>([])

    /// The store that holds the records and the tokens.
    /// - Parameters:
    ///   - store: the store written to (and read from when `openReader` is `nil`).
    ///   - openReader: opens another read-only connection to the same store, for reads in parallel; called when a
    ///     read finds no idle one (at most one per worker thread and per report running at the same time).
    public init(_ store: some TrackingStore & TokenStore, openReader: (@Sendable () throws -> any TrackingStore & TokenStore)? = nil) {
        tracking = store
        tokens = store
        self.openReader = openReader
    }

    /// Runs `body` with a reader connection (the main store when none can be opened), on the caller's thread.
    func withReader<T>(_ body: (_ tracking: any TrackingStore, _ tokens: any TokenStore) throws -> T) throws -> T {
        guard let openReader else { return try body(tracking, tokens) }
        let reader = try idle.withLock { $0.popLast() } ?? openReader()
        defer { idle.withLock { $0.append(reader) } }
        return try body(reader, reader)
    }
}
