import Foundation

/// A bounded hand-over of row chunks between two threads.
final class RowChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [[CompactRow]] = []
    private var finished = false
    private var cancelled = false
    static let capacity = 8

    /// Hands a chunk on, waiting while the channel is full; `false` when the reading side stopped.
    func put(_ chunk: [CompactRow]) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count >= Self.capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk, or `nil` at the end.
    func take() -> [CompactRow]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished && !cancelled { condition.wait() }
        if chunks.isEmpty { return nil }
        let chunk = chunks.removeFirst()
        condition.broadcast()
        return chunk
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
