import Foundation
import NIOCore
import NIOPosix
import OZGCore

/// Runs the synchronous store and library work off the event loops.
///
/// Short work (a status, a token look-up) runs on a small thread pool; long work (a report, an import) gets a
/// thread of its own, so that a national report never holds up the pool.
final class Workers: Sendable {
    private let pool: NIOThreadPool

    init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    /// Runs `body` on the pool.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Runs `body` on a new thread with a stack as large as the main thread's.
    static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    func shutdown() async throws { try await pool.shutdownGracefully() }
}

/// An ``OutputSink`` that hands what a report's thread writes to an HTTP response, with backpressure: the report
/// thread waits while ``capacity`` chunks are waiting to be sent, so memory stays bounded however large the report
/// and however slow the client.
///
/// `@unchecked Sendable`: the producer's buffer is touched only by the report thread; everything shared is guarded
/// by `condition`.
final class ResponseStream: OutputSink, @unchecked Sendable {
    /// Bytes gathered before a chunk is handed on. 1 MiB rather than 64 KiB: each chunk costs a continuation, an
    /// allocation and a hop to the event loop; with 64 KiB chunks (16,600 for the national CSV report) the report over
    /// HTTP took 1.11–1.34× the CLI (median 1.22×, five runs of `scripts/bench-serve.sh`, 2026-11-29, load 0–3.7),
    /// with 1 MiB 1.09–1.16× (median 1.10×, four runs). Memory stays bounded: at most ``capacity`` chunks wait.
    static let chunkSize = 1 << 20
    /// Chunks that may wait for the client.
    static let capacity = 4
    /// How long the report thread waits for a client that takes nothing before it gives up.
    static let stallTimeout: TimeInterval = 300

    private let condition = NSCondition()
    private var chunks: [ByteBuffer] = []
    private var waiting: CheckedContinuation<ByteBuffer?, Never>?
    private var finished = false
    private var cancelled = false
    private(set) var failure: (any Error)?
    private var buffer: ByteBuffer

    struct Cancelled: Error {}

    init() { buffer = ByteBufferAllocator().buffer(capacity: Self.chunkSize + 4096) }

    // MARK: the report's thread

    func write(_ text: String) throws {
        buffer.writeString(text)
        if buffer.readableBytes >= Self.chunkSize { try push() }
    }

    func write(bytes: UnsafeRawBufferPointer) throws {
        buffer.writeBytes(bytes)
        if buffer.readableBytes >= Self.chunkSize { try push() }
    }

    private func push() throws {
        let chunk = buffer
        buffer = ByteBufferAllocator().buffer(capacity: Self.chunkSize + 4096)
        condition.lock()
        let deadline = Date(timeIntervalSinceNow: Self.stallTimeout)
        while chunks.count >= Self.capacity && !cancelled {
            if !condition.wait(until: deadline) { cancelled = true }
        }
        if cancelled {
            condition.unlock()
            throw Cancelled()
        }
        if let waiting {
            self.waiting = nil
            condition.unlock()
            waiting.resume(returning: chunk)
        } else {
            chunks.append(chunk)
            condition.unlock()
        }
    }

    /// Ends the stream: what is buffered is handed on, then the end (or `error`).
    func finish(_ error: (any Error)?) {
        if error == nil && buffer.readableBytes > 0 { try? push() }
        condition.lock()
        finished = true
        if failure == nil { failure = error }
        let waiting = self.waiting
        self.waiting = nil
        condition.unlock()
        waiting?.resume(returning: nil)
    }

    // MARK: the response

    /// The next chunk, or `nil` at the end (see ``failure``).
    func next() async -> ByteBuffer? {
        await withCheckedContinuation { continuation in
            condition.lock()
            if !chunks.isEmpty {
                let chunk = chunks.removeFirst()
                condition.broadcast()
                condition.unlock()
                continuation.resume(returning: chunk)
            } else if finished {
                condition.unlock()
                continuation.resume(returning: nil)
            } else {
                waiting = continuation
                condition.unlock()
            }
        }
    }

    /// Tells the report thread to stop (the client went away).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
