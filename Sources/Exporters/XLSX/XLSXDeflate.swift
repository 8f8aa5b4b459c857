internal import CISAL
internal import CZlib
import Foundation
import OZGCore

/// Raw deflate (RFC 1951, no zlib header: what a ZIP entry holds) through zlib.
///
/// The streams this makes are concatenated: a stream ended with ``Flush/sync`` stops on a byte boundary in a
/// block that is not the last, so another raw stream may follow it and the whole still inflates as one (what
/// pigz does with its chunks). The Daten sheets are put together that way: libxlsxwriter's start of the sheet,
/// ozgtrack's rows (compressed while the report runs), libxlsxwriter's end of the sheet.
final class RawDeflater {
    enum Flush {
        /// The stream ends here, on a byte boundary, but not as the last block: another stream may follow.
        case sync
        /// The stream ends with the last block.
        case finish

        var zlib: Int32 {
            switch self {
            case .sync: Z_SYNC_FLUSH
            case .finish: Z_FINISH
            }
        }
    }

    /// zlib keeps a pointer back to its stream: the stream must not move, so it lives in its own allocation.
    private let stream: UnsafeMutablePointer<z_stream>
    private let output: UnsafeMutablePointer<UInt8>
    private static let outputCapacity = 1 << 18

    /// A compressor at `level` (1 fastest … 9 smallest).
    init(level: Int32) throws(XLSXError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(capacity: Self.outputCapacity)
        // windowBits -15: raw deflate, 32 KiB window; memLevel 8 as zlib's default.
        let result = deflateInit2_(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else {
            stream.deallocate()
            output.deallocate()
            throw XLSXError.output("zlib could not start compressing (error \(result))")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `input` and hands every piece of compressed output to `emit`.
    func compress(_ input: UnsafeRawBufferPointer, flush: Flush, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(Self.outputCapacity)
            let result = deflate(stream, flush.zlib)
            guard result == Z_OK || result == Z_STREAM_END || result == Z_BUF_ERROR else {
                throw XLSXError.output("zlib failed while compressing (error \(result))")
            }
            let produced = Self.outputCapacity - Int(stream.pointee.avail_out)
            if produced > 0 { try emit(UnsafeRawBufferPointer(start: output, count: produced)) }
            // Output space left over means zlib has taken all input and written everything the flush asks for.
            if stream.pointee.avail_out > 0 && stream.pointee.avail_in == 0 { break }
        }
        if flush == .finish || flush == .sync { deflateReset(stream) }
    }

    /// `input` compressed as one stream ending with `flush`.
    func compressed(_ input: [UInt8], flush: Flush) throws -> [UInt8] {
        var result: [UInt8] = []
        try input.withUnsafeBytes { bytes in
            try compress(bytes, flush: flush) { result.append(contentsOf: $0) }
        }
        return result
    }
}

/// Raw deflate of the Daten rows through ISA-L's igzip at its level 1, with the same contract as ``RawDeflater``
/// (streams ended with a sync flush concatenate; each such stream starts without history, so a part never refers
/// back into another one).
///
/// Why not zlib here: the rows of the Land report are 287 MB of XML, and zlib's fastest level took 0.62 s of CPU
/// for them (plus 0.07 s for its CRC-32) — on a two-core machine whose other core formats the rows and whose
/// producing thread reads the store, the single largest share of the report's CPU (34 %, `perf record`, release
/// build). igzip at level 1 took 0.15 s for the same bytes, CRC included, to 21.6 MB (zlib level 1: 21.2 MB;
/// `igzip -1` against Python's zlib on the Land report's sheet part).
final class FastDeflater {
    private let stream: UnsafeMutablePointer<isal_zstream>
    private let levelBuffer: UnsafeMutablePointer<UInt8>
    private let output: UnsafeMutablePointer<UInt8>
    private static let outputCapacity = 1 << 18
    private static let levelBufferSize = Int(ozgtrack_isal_level1_buffer)

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: isal_zstream())
        levelBuffer = .allocate(capacity: Self.levelBufferSize)
        output = .allocate(capacity: Self.outputCapacity)
        isal_deflate_init(stream)
        configure()
    }

    deinit {
        stream.deallocate()
        levelBuffer.deallocate()
        output.deallocate()
    }

    private func configure() {
        stream.pointee.level = 1
        stream.pointee.level_buf = levelBuffer
        stream.pointee.level_buf_size = UInt32(Self.levelBufferSize)
        stream.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
        stream.pointee.end_of_stream = 0
        stream.pointee.flush = UInt16(NO_FLUSH)
    }

    /// Compresses `input` and hands every piece of compressed output to `emit`; with `sync`, ends the stream on a
    /// byte boundary (an empty stored block, not the last block) and starts the next one without history.
    func compress(_ input: UnsafeRawBufferPointer, sync: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.flush = UInt16(sync ? SYNC_FLUSH : NO_FLUSH)
        while true {
            stream.pointee.next_out = output
            stream.pointee.avail_out = UInt32(Self.outputCapacity)
            let result = isal_deflate(stream)
            guard result == COMP_OK else { throw XLSXError.output("ISA-L failed while compressing (error \(result))") }
            let produced = Self.outputCapacity - Int(stream.pointee.avail_out)
            if produced > 0 { try emit(UnsafeRawBufferPointer(start: output, count: produced)) }
            // Output space left over and no input left: everything the flush asks for is written (igzip_lib.h).
            if stream.pointee.avail_out > 0 && stream.pointee.avail_in == 0 { break }
        }
        if sync {
            isal_deflate_reset(stream)
            configure()
        }
    }

    /// `input` compressed as one whole stream (ending with the last block).
    func compressed(_ input: [UInt8]) throws -> [UInt8] {
        var result: [UInt8] = []
        try input.withUnsafeBytes { bytes in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.pointee.avail_in = UInt32(bytes.count)
            stream.pointee.end_of_stream = 1
            stream.pointee.flush = UInt16(NO_FLUSH)
            repeat {
                stream.pointee.next_out = output
                stream.pointee.avail_out = UInt32(Self.outputCapacity)
                let status = isal_deflate(stream)
                guard status == COMP_OK else { throw XLSXError.output("ISA-L failed while compressing (error \(status))") }
                result.append(contentsOf: UnsafeBufferPointer(start: output, count: Self.outputCapacity - Int(stream.pointee.avail_out)))
            } while stream.pointee.internal_state.state != ZSTATE_END
        }
        isal_deflate_reset(stream)
        configure()
        return result
    }
}

/// CRC-32 (the ZIP checksum) through zlib.
enum CRC32 {
    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return UInt32(crc32(UInt(crc), base.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count)))
    }

    /// The same CRC through ISA-L (carry-less multiplication: about four times zlib's speed on this machine), for
    /// the Daten rows.
    static func fastUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return crc32_gzip_refl(crc, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    static func of(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { update(0, $0) } }

    /// The CRC of `a` followed by `b`, from their CRCs and `b`'s length.
    static func combine(_ a: UInt32, _ b: UInt32, length: Int) -> UInt32 {
        UInt32(crc32_combine(UInt(a), UInt(b), length))
    }
}

/// Bytes inflated from a raw deflate stream (the small parts libxlsxwriter wrote, to edit them).
func rawInflate(_ compressed: ArraySlice<UInt8>, size: Int) throws(XLSXError) -> [UInt8] {
    // zlib keeps a pointer back to its stream: the stream must not move.
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer { stream.deallocate() }
    guard inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw XLSXError.output("zlib could not start inflating")
    }
    defer { inflateEnd(stream) }
    var output = [UInt8](repeating: 0, count: max(size, 1))
    let result = compressed.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer { out in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            stream.pointee.next_out = out.baseAddress
            stream.pointee.avail_out = UInt32(out.count)
            return inflate(stream, Z_FINISH)
        }
    }
    guard result == Z_STREAM_END, Int(stream.pointee.total_out) == size else {
        throw XLSXError.output("a part libxlsxwriter wrote does not inflate (zlib \(result))")
    }
    return Array(output.prefix(size))
}

/// A scratch file written front to back and read back by position (the compressed Daten sheets, their links).
final class ScratchFile {
    let path: String
    private let descriptor: Int32
    /// Bytes written so far.
    private(set) var size = 0

    init(path: String) throws(XLSXError) {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw XLSXError.output("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(descriptor) }

    func append(_ bytes: UnsafeRawBufferPointer) throws(XLSXError) {
        var done = 0
        while done < bytes.count {
            let count = Foundation.write(descriptor, bytes.baseAddress.map { $0 + done }, bytes.count - done)
            if count < 0 {
                if errno == EINTR { continue }
                throw XLSXError.output("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            done += count
        }
        size += bytes.count
    }

    /// Hands the bytes `offset..<offset + length` to `sink`, in pieces of 1 MiB.
    func copy(offset: Int, length: Int, to emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position = offset
        let end = offset + length
        while position < end {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, min($0.count, end - position), off_t(position)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw XLSXError.output("cannot read back \(path): \(String(cString: strerror(errno)))")
            }
            guard count > 0 else { throw XLSXError.output("\(path) is shorter than written") }
            try buffer.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            position += count
        }
    }
}

/// An output sink that compresses what it is given on a thread of its own, into a scratch file, as a series of
/// parts (one per Daten sheet), with ISA-L's level 1 (``FastDeflater``; libxlsxwriter's zlib level 6 was 41 % of
/// the Land report's time, zlib's level 1 still the largest share). With shared strings the Land workbook is still
/// smaller than libxlsxwriter's (22.2 MB against 53 MB; docs/performance.md). The report's pass formats the rows on the calling thread while this thread
/// deflates the previous chunks: the two cores both work.
///
/// Chunks wait in a bounded channel (at most four of about 1 MiB), so memory stays flat. An error of the
/// compressing thread is thrown by the next write or by ``finish()``.
final class DeflatingSink: OutputSink, @unchecked Sendable {
    /// One compressed part: where it is in the file, how long, and the size and CRC of the bytes it holds.
    struct Part {
        var offset: Int
        var compressedSize: Int
        var size: Int
        var crc: UInt32
    }

    private enum Message {
        case bytes([UInt8])
        case endPart
    }

    private let channel = BoundedChannel<Message>(capacity: 4)
    /// Chunks the compressing thread is done with, for the next writes to fill again: a fresh 1 MiB array per
    /// chunk cost page faults and zeroing on the formatting thread (`perf record` of the Land report).
    private var spare: [[UInt8]] = []
    private let spareLock = NSLock()
    private let file: ScratchFile
    private let deflater = FastDeflater()
    /// Written by the compressing thread; read after `done` is signalled.
    private var parts: [Part] = []
    private var failure: (any Error)?
    private let done = DispatchSemaphore(value: 0)
    private var finished = false

    init(file: ScratchFile) throws(XLSXError) {
        self.file = file
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
        var output: [UInt8] = []
        output.reserveCapacity(1 << 20)
        var part = Part(offset: 0, compressedSize: 0, size: 0, crc: 0)
        func drain() throws {
            try output.withUnsafeBytes { try file.append($0) }
            output.removeAll(keepingCapacity: true)
        }
        do {
            while let message = try channel.receive() {
                // Consumed, so that the chunk's array is uniquely referenced and goes back to `spare` as it is.
                switch consume message {
                case .bytes(var bytes):
                    try bytes.withUnsafeBytes { input in
                        part.crc = CRC32.fastUpdate(part.crc, input)
                        part.size += input.count
                        try deflater.compress(input, sync: false) { output.append(contentsOf: $0) }
                    }
                    if output.count >= 1 << 20 { try drain() }
                    bytes.removeAll(keepingCapacity: true)
                    spareLock.withLock { if spare.count < 6 { spare.append(bytes) } }
                case .endPart:
                    try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), sync: true) { output.append(contentsOf: $0) }
                    try drain()
                    part.compressedSize = file.size - part.offset
                    parts.append(part)
                    part = Part(offset: file.size, compressedSize: 0, size: 0, crc: 0)
                }
            }
        } catch {
            failure = error
            channel.cancel(error: error)
        }
    }

    func write(_ text: String) throws {
        var copy = text
        try copy.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Takes a chunk (``RowBuffer`` hands over about 1 MiB at a time).
    func write(bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        var chunk: [UInt8]
        if let reused = spareLock.withLock({ spare.popLast() }) {
            chunk = reused
        } else {
            chunk = []
            chunk.reserveCapacity(max(bytes.count, RowBuffer.chunk + (256 << 10)))
        }
        chunk.append(contentsOf: bytes)
        try channel.send(.bytes(chunk))
    }

    /// Ends the current part (the caller has flushed its writer).
    func endPart() throws { try channel.send(.endPart) }

    /// Waits for the compressing thread; the parts in the order they were ended.
    func finish() throws -> [Part] {
        finished = true
        channel.close()
        done.wait()
        if let failure { throw failure }
        return parts
    }
}
