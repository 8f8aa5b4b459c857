import Foundation

/// Writes to another sink on a thread of its own, so that formatting and the system's copying of the output
/// (large reports write gigabytes) run at the same time.
///
/// Bytes are gathered into chunks of 1 MiB; at most four chunks wait, so memory stays bounded. An error of the
/// inner sink (a full disk) is thrown by the next write or by ``finish()``. Call ``finish()`` before using the
/// inner sink's result (committing a file, flushing standard output).
public final class BackgroundSink: OutputSink, @unchecked Sendable {
    private let inner: any OutputSink
    private let channel = BoundedChannel<[UInt8]>(capacity: depth)
    private var current: [UInt8] = []
    /// The inner sink's error: written by the writing thread before it signals `done`, read after waiting.
    private var failure: (any Error)?
    private let done = DispatchSemaphore(value: 0)
    private var finished = false
    static let chunk = 1 << 20
    static let depth = 8

    /// Starts the writing thread. `inner` is used only by that thread until ``finish()`` returns.
    public init(_ inner: any OutputSink) {
        self.inner = inner
        current.reserveCapacity(Self.chunk)
        Thread.detachNewThread { [self] in run() }
    }

    deinit {
        if !finished {
            channel.cancel()
            done.wait()
        }
    }

    private func run() {
        defer { done.signal() }
        // The channel is never closed with an error, so `receive()` returns chunks and then `nil`.
        while let chunk = (try? channel.receive()) ?? nil {
            do {
                try chunk.withUnsafeBytes { try inner.write(bytes: $0) }
            } catch {
                failure = error
                // The formatting thread's next write throws this error instead of waiting.
                channel.cancel(error: error)
                return
            }
        }
    }

    public func write(_ text: String) throws {
        var copy = text
        try copy.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0)) }
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        current.append(contentsOf: bytes)
        if current.count >= Self.chunk {
            try channel.send(current)
            current = []
            current.reserveCapacity(Self.chunk)
        }
    }

    /// Writes out everything and stops the thread.
    /// - Throws: the first error of the inner sink.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        if !current.isEmpty {
            let last = current
            current = []
            try? channel.send(last)
        }
        channel.close()
        done.wait()
        if let failure { throw failure }
    }
}
