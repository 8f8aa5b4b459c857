import Foundation

/// Runs a ``RowMerger`` on its own thread.
///
/// `@unchecked Sendable`: the merger (and through it the store's cursor) is used only by the producing thread
/// until ``wait()`` returns.
final class RowProducer: @unchecked Sendable {
    private let merger: RowMerger
    private let channel: RowChannel
    private let done = DispatchSemaphore(value: 0)
    private var finished = false
    private let lock = NSLock()
    static let chunkSize = 1_024

    init(merger: RowMerger, channel: RowChannel) {
        self.merger = merger
        self.channel = channel
    }

    func run() {
        defer { done.signal() }
        var chunk = RowChunk()
        chunk.rows.reserveCapacity(Self.chunkSize)
        while merger.next(into: &chunk) {
            if chunk.rows.count == Self.chunkSize {
                // The full chunk is handed over as its only reference (its pages are shared with the merger, which
                // never changes a page it has handed out).
                var full = RowChunk()
                full.rows.reserveCapacity(Self.chunkSize)
                swap(&full, &chunk)
                do { try channel.send(full) } catch { return }  // the reading side stopped
            }
        }
        if !chunk.rows.isEmpty { try? channel.send(chunk) }
        channel.close()
    }

    /// Waits until the producer has stopped (idempotent).
    func wait() {
        lock.lock()
        defer { lock.unlock() }
        if finished { return }
        done.wait()
        finished = true
    }
}
