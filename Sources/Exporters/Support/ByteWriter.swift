import Foundation
public import OZGCore

/// An output buffer of bytes in front of a sink, for exporters that write millions of rows.
///
/// Building each row as a `String` and concatenating cost most of a national report's time; appending bytes to
/// one buffer, escaping by scanning bytes, and reusing the encoded text of values that repeat (a region's
/// columns, a service's columns: ``EncodedCache``) made the CSV export several times faster (see
/// docs/performance.md). The buffer is raw memory owned by a small class; the writer itself is a value, so the
/// hot appends need no run-time exclusivity checks.
public struct ByteWriter {
    private final class Storage {
        var pointer: UnsafeMutablePointer<UInt8>
        var capacity: Int

        init(capacity: Int) {
            pointer = .allocate(capacity: capacity)
            self.capacity = capacity
        }

        deinit { pointer.deallocate() }
    }

    private let storage: Storage
    private var pointer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    private let sink: (any OutputSink)?
    /// Bytes gathered before they go to the sink.
    static let chunk = 1 << 20

    /// A writer into `sink`.
    public init(sink: any OutputSink) {
        self.init(sink: sink, capacity: Self.chunk + (64 << 10))
    }

    private init(sink: (any OutputSink)?, capacity: Int) {
        storage = Storage(capacity: capacity)
        pointer = storage.pointer
        self.capacity = capacity
        self.sink = sink
    }

    private mutating func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while count + extra > grown { grown *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: pointer, count: count)
        storage.pointer.deallocate()
        storage.pointer = bigger
        storage.capacity = grown
        pointer = bigger
        capacity = grown
    }

    /// Appends one byte (an ASCII character).
    @inline(__always)
    public mutating func append(ascii byte: UInt8) {
        reserve(1)
        pointer[count] = byte
        count += 1
    }

    /// Appends bytes.
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
    @inline(__always)
    public mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends bytes.
    public mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { append($0) } }

    /// Appends a string's UTF-8 bytes.
    public mutating func append(_ text: String) {
        if text.utf8.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for byte in text.utf8 { append(ascii: byte) }
        }
    }

    /// Appends a non-negative integer in decimal.
    public mutating func append(_ value: Int) {
        if value >= 0 && value < 10 {
            append(ascii: UInt8(0x30 + value))
        } else {
            append(String(value))
        }
    }

    /// Appends a date as `YYYY-MM-DD`.
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

    /// Appends `text` as one CSV field (RFC 4180): quoted when it holds the delimiter, a quote, CR or LF, with
    /// inner quotes doubled; with `neutralise`, a leading `'` when it starts like a formula (`=`, `+`, `-`, `@`,
    /// tab, CR).
    public mutating func appendCSVField(_ text: String, delimiter: UInt8, neutralise: Bool) {
        var copy = text
        copy.withUTF8 { bytes in
            guard let first = bytes.first else { return }
            let formula = neutralise && (first == 0x3D || first == 0x2B || first == 0x2D || first == 0x40 || first == 0x09 || first == 0x0D)
            var quote = false
            for byte in bytes where byte == delimiter || byte == 0x22 || byte == 0x0A || byte == 0x0D {
                quote = true
                break
            }
            if !quote && !formula {
                append(bytes)
                return
            }
            if quote { append(ascii: 0x22) }
            if formula { append(ascii: 0x27) }
            if quote {
                reserve(bytes.count * 2 + 1)
                for byte in bytes {
                    pointer[count] = byte
                    count += 1
                    if byte == 0x22 {
                        pointer[count] = 0x22
                        count += 1
                    }
                }
                append(ascii: 0x22)
            } else {
                append(bytes)
            }
        }
    }

    /// Hands the buffer to the sink once a chunk is full.
    public mutating func flushIfFull() throws {
        if count >= Self.chunk { try flush() }
    }

    /// Hands everything buffered to the sink.
    public mutating func flush() throws {
        guard count > 0, let sink else { return }
        try sink.write(bytes: UnsafeRawBufferPointer(start: pointer, count: count))
        count = 0
    }

    /// The bytes written so far (for ``encoded(_:)``).
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The bytes `body` appends, as an array (for caching encoded text that repeats).
    public static func encoded(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter(sink: nil, capacity: 256)
        body(&writer)
        return writer.bytes
    }
}

/// Encoded text per position (a region's or a service's columns), kept in one block of bytes so that reusing it
/// costs a copy and no reference counting.
struct EncodedCache {
    private var arena: [UInt8] = []
    private var spans: [(start: Int32, length: Int32)]

    init(count: Int) { spans = [(Int32, Int32)](repeating: (-1, 0), count: count) }

    /// Appends the cached text for `index` to `out`, encoding it with `encode` the first time.
    mutating func append(_ index: Int, to out: inout ByteWriter, encode: (inout ByteWriter) -> Void) {
        if spans[index].start < 0 {
            let bytes = ByteWriter.encoded(encode)
            spans[index] = (Int32(arena.count), Int32(bytes.count))
            arena.append(contentsOf: bytes)
        }
        let span = spans[index]
        arena.withUnsafeBufferPointer { all in
            out.append(UnsafeBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + span.length)]))
        }
    }
}
