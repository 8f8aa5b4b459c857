/// An output buffer of bytes in front of a sink, for writers that write millions of rows.
///
/// Building each row as a `String` and concatenating cost most of a national report's time; appending bytes to
/// one buffer, escaping by scanning bytes, and reusing the encoded text of values that repeat (a region's
/// columns, a service's columns) made the CSV export several times faster (see docs/performance.md).
///
/// The writer owns its buffer and is non-copyable: a copy would share the buffer, and either copy could free or
/// grow it under the other. Pass it `inout`; the compiler rejects copies. The hot appends are `@inlinable`, so
/// that writers in other modules (the exporters) compile them inline as before.
public struct ByteWriter: ~Copyable {
    @usableFromInline var pointer: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// The number of bytes buffered.
    @usableFromInline var count = 0
    private let sink: (any OutputSink)?
    /// The sink again when it takes full buffers over instead of copying them (``BufferTakingSink``).
    private let taker: (any BufferTakingSink)?
    /// Bytes gathered before they go to the sink.
    public static let chunk = 1 << 20
    /// The size of the buffer in front of a sink (room for a row after a full chunk).
    package static let sinkCapacity = chunk + (64 << 10)

    /// A writer into `sink`.
    public init(sink: any OutputSink) {
        self.init(sink: sink, capacity: Self.sinkCapacity)
    }

    /// A writer into `sink` that hands its full buffers over when the sink takes them (``BufferTakingSink``)
    /// instead of having them copied. Then up to a page of bytes stays in the writer after each full buffer, until
    /// ``flush()``: only for a writer that is the sink's only writer until its ``flush()``.
    package init(handingOverTo sink: any OutputSink) {
        self.init(sink: sink, capacity: Self.sinkCapacity, handingOver: true)
    }

    private init(sink: (any OutputSink)?, capacity: Int, handingOver: Bool = false) {
        taker = handingOver ? sink as? any BufferTakingSink : nil
        if taker != nil {
            // Aligned like the buffers the sink gives back (for direct writes, see ``AtomicFileSink``).
            pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: AtomicFileSink.directAlignment)
                .bindMemory(to: UInt8.self, capacity: capacity)
        } else {
            pointer = .allocate(capacity: capacity)
        }
        self.capacity = capacity
        self.sink = sink
    }

    deinit { pointer.deallocate() }

    /// Makes room for `extra` more bytes.
    @inlinable @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    @usableFromInline
    mutating func grow(_ extra: Int) {
        var grown = capacity * 2
        while count + extra > grown { grown *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: pointer, count: count)
        pointer.deallocate()
        pointer = bigger
        capacity = grown
    }

    /// Appends one byte (an ASCII character).
    @inlinable @inline(__always)
    public mutating func append(ascii byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count += 1
    }

    /// Appends one byte without checking for room; the caller has called ``reserve(_:)``.
    @inlinable @inline(__always)
    mutating func appendReserved(_ byte: UInt8) {
        pointer[count] = byte
        count += 1
    }

    /// Appends bytes.
    @inlinable
    public mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        if bytes.count <= 32 {
            // Most pieces are a few bytes: a loop beats a call to memmove.
            for offset in 0..<bytes.count { pointer[count + offset] = base[offset] }
        } else {
            (pointer + count).update(from: base, count: bytes.count)
        }
        count += bytes.count
    }

    /// Appends the bytes of a string literal (no copy, no reference counting).
    @inlinable @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends bytes.
    @inlinable
    public mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    /// Appends a string's UTF-8 bytes.
    @inlinable
    public mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for byte in text.utf8 { append(ascii: byte) }
        }
    }

    /// Appends a non-negative integer in decimal.
    @inlinable
    public mutating func append(_ value: Int) {
        if value >= 0 && value < 10 {
            append(ascii: UInt8(0x30 + value))
        } else {
            append(String(value))
        }
    }

    /// Appends a date as `YYYY-MM-DD`.
    @inlinable
    public mutating func append(_ date: ISODate) {
        reserve(10)
        let year = date.year
        pointer[count] = UInt8(0x30 + year / 1000 % 10)
        pointer[count + 1] = UInt8(0x30 + year / 100 % 10)
        pointer[count + 2] = UInt8(0x30 + year / 10 % 10)
        pointer[count + 3] = UInt8(0x30 + year % 10)
        pointer[count + 4] = 0x2D
        pointer[count + 5] = UInt8(0x30 + date.month / 10)
        pointer[count + 6] = UInt8(0x30 + date.month % 10)
        pointer[count + 7] = 0x2D
        pointer[count + 8] = UInt8(0x30 + date.day / 10)
        pointer[count + 9] = UInt8(0x30 + date.day % 10)
        count += 10
    }

    /// Hands the buffer to the sink once a chunk is full.
    @inlinable
    public mutating func flushIfFull() throws {
        if count >= Self.chunk { try handOver() }
    }

    /// Hands the full buffer to the sink: taken over as it is by a ``BufferTakingSink`` (see
    /// ``init(handingOverTo:)``), which may leave a few bytes here, or copied by any other.
    @usableFromInline
    mutating func handOver() throws {
        if let taker, capacity == Self.sinkCapacity {
            let (next, kept) = try taker.take(UnsafeMutableRawPointer(pointer), count: count)
            pointer = next.assumingMemoryBound(to: UInt8.self)
            count = kept
        } else {
            try flush()
        }
    }

    /// Hands everything buffered to the sink.
    public mutating func flush() throws {
        guard count > 0, let sink else { return }
        try sink.write(bytes: UnsafeRawBufferPointer(start: pointer, count: count))
        count = 0
    }

    /// The bytes written and not yet handed to a sink.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The bytes `body` appends, as an array (for caching encoded text that repeats, and for tests).
    public static func encoded(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter(sink: nil, capacity: 256)
        body(&writer)
        return writer.bytes
    }

    /// The text `body` appends (for the few places that need a `String`).
    public static func text(_ body: (inout ByteWriter) -> Void) -> String {
        var writer = ByteWriter(sink: nil, capacity: 256)
        body(&writer)
        return String(decoding: UnsafeBufferPointer(start: writer.pointer, count: writer.count), as: UTF8.self)
    }
}

/// A sink that takes a ``ByteWriter``'s buffer over as it is, instead of copying its bytes.
///
/// Measured: ``BackgroundSink`` copying every mebibyte of a national CSV report (1.09 GB) was 2.2 % of the
/// report's client CPU samples (`perf record`, PostgreSQL, release build).
package protocol BufferTakingSink: OutputSink {
    /// Takes the first `count` bytes of `buffer` (``ByteWriter/sinkCapacity`` bytes, aligned to
    /// ``AtomicFileSink/directAlignment``), or only a prefix of them, and returns a buffer of the same size and
    /// alignment for the writer to go on with, holding the bytes not taken at its start, and their count. The
    /// writer no longer uses `buffer`; the sink frees it.
    func take(_ buffer: UnsafeMutableRawPointer, count: Int) throws -> (UnsafeMutableRawPointer, Int)
}
