import OZGCore

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
