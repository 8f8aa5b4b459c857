import Foundation

/// Writes to another sink on a thread of its own, so that formatting and the system's copying of the output
/// (large reports write gigabytes) run at the same time.
///
/// Bytes are gathered into chunks of exactly 1 MiB, in memory aligned for direct writes (``AtomicFileSink`` writes
/// such chunks past the page cache); at most eight chunks wait, so memory stays bounded, and written chunks are
/// used again. An error of the inner sink (a full disk) is thrown by the next write or by ``finish()``. Call
/// ``finish()`` before using the inner sink's result (committing a file, flushing standard output).
public final class BackgroundSink: BufferTakingSink, @unchecked Sendable {
    private let inner: any OutputSink
    private let channel = BoundedChannel<Chunk>(capacity: depth)
    private var current: Chunk
    /// Chunks the writing thread has written, for the formatting thread to fill again.
    private var spare: [Chunk] = []
    private let spareLock = NSLock()
    /// The inner sink's error: written by the writing thread before it signals `done`, read after waiting.
    private var failure: (any Error)?
    private let done = DispatchSemaphore(value: 0)
    private var finished = false
    static let chunk = 1 << 20
    static let depth = 8

    /// A chunk of bytes in memory aligned to ``AtomicFileSink/directAlignment``. It is used by one thread at a
    /// time: filled by the formatting thread, handed over through the channel, written by the writing thread,
    /// handed back through `spare`.
    /// Its memory is ``ByteWriter/sinkCapacity`` bytes, so that it can be swapped with a writer's buffer
    /// (``take(_:count:)``).
    final class Chunk: @unchecked Sendable {
        var base = UnsafeMutableRawPointer.allocate(
            byteCount: ByteWriter.sinkCapacity, alignment: AtomicFileSink.directAlignment)
        var count = 0
        deinit { base.deallocate() }
        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    }

    /// Starts the writing thread. `inner` is used only by that thread until ``finish()`` returns.
    public init(_ inner: any OutputSink) {
        self.inner = inner
        current = Chunk()
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
                try inner.write(bytes: chunk.bytes)
            } catch {
                failure = error
                // The formatting thread's next write throws this error instead of waiting.
                channel.cancel(error: error)
                return
            }
            chunk.count = 0
            spareLock.withLock { spare.append(chunk) }
        }
    }

    public func write(_ text: String) throws {
        var copy = text
        try copy.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0)) }
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let taken = min(Self.chunk - current.count, bytes.count - offset)
            (current.base + current.count).copyMemory(from: source + offset, byteCount: taken)
            current.count += taken
            offset += taken
            if current.count == Self.chunk {
                let full = current
                current = spareLock.withLock { spare.popLast() } ?? Chunk()
                try channel.send(full)
            }
        }
    }

    /// Takes a ``ByteWriter``'s full buffer over: its aligned prefix goes to the writing thread as it is, and a
    /// written chunk's memory comes back with the rest of the bytes (less than a page) at its start.
    package func take(_ buffer: UnsafeMutableRawPointer, count: Int) throws -> (UnsafeMutableRawPointer, Int) {
        let aligned = count & ~(AtomicFileSink.directAlignment - 1)
        guard current.count == 0, aligned > 0 else {
            // Bytes written otherwise wait in `current`: these go after them.
            try write(bytes: UnsafeRawBufferPointer(start: buffer, count: count))
            return (buffer, 0)
        }
        let full = spareLock.withLock { spare.popLast() } ?? Chunk()
        let next = full.base
        next.copyMemory(from: buffer + aligned, byteCount: count - aligned)
        full.base = buffer
        full.count = aligned
        do {
            try channel.send(full)
        } catch {
            // Not sent: the writer keeps its buffer, the chunk its memory.
            full.base = next
            full.count = 0
            throw error
        }
        return (next, count - aligned)
    }

    /// Writes out everything and stops the thread.
    /// - Throws: the first error of the inner sink.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        if current.count > 0 {
            let last = current
            current = Chunk()
            try? channel.send(last)
        }
        channel.close()
        done.wait()
        if let failure { throw failure }
    }
}
