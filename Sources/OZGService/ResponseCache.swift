import Foundation
import NIOCore
import Synchronization

/// Encoded JSON documents of the read API, keyed by request and valid for one state of the store: an entry is used
/// only while the store's latest change is the one it was built at, so any write (through the service or by another
/// process) makes it stale. Dashboards ask for the same units again and again; this saves rebuilding and encoding
/// ~600 services per request.
final class ResponseCache: Sendable {
    private struct Entry {
        var version: Int64
        var body: ByteBuffer
        var used: UInt64
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
    }
    private let state = Mutex(State())
    /// At most this many documents are kept (the least recently used goes first).
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The document for `key` if it was built at `version`.
    func get(_ key: String, version: Int64) -> ByteBuffer? {
        state.withLock { state in
            guard var entry = state.entries[key], entry.version == version else { return nil }
            state.clock += 1
            entry.used = state.clock
            state.entries[key] = entry
            return entry.body
        }
    }

    /// Keeps `body` for `key` at `version`.
    func put(_ key: String, version: Int64, body: ByteBuffer) {
        guard capacity > 0 else { return }
        state.withLock { state in
            state.clock += 1
            state.entries[key] = Entry(version: version, body: body, used: state.clock)
            if state.entries.count > capacity, let oldest = state.entries.min(by: { $0.value.used < $1.value.used })?.key {
                state.entries.removeValue(forKey: oldest)
            }
        }
    }
}
