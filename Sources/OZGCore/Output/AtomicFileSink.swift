import Foundation

/// Writes a file so that it appears complete or not at all: everything goes to a temporary file beside the
/// target, which is flushed to disk and renamed over the target only at ``commit()``. A failure, a crash or a
/// kill before that leaves the target as it was (and at worst a hidden `.ozgtrack-*.tmp` file).
public final class AtomicFileSink: OutputSink {
    /// The file to write.
    public let path: String
    private let temporaryPath: String
    private let descriptor: Int32
    private let writer: DescriptorWriter
    private var finished = false

    /// Opens a temporary file in the target's directory.
    /// - Throws: ``OutputError`` when the directory does not exist or is not writable.
    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OutputError.cannotWrite(target: path, reason: "the directory \(directory) does not exist")
        }
        temporaryPath = url.deletingLastPathComponent()
            .appendingPathComponent(".ozgtrack-\(url.lastPathComponent)-\(UUID().uuidString.prefix(8)).tmp").path
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw OutputError.cannotWrite(target: path, reason: String(cString: strerror(errno)))
        }
        writer = DescriptorWriter(descriptor: descriptor, name: path)
    }

    deinit { discard() }

    public func write(_ text: String) throws {
        if direct { try endDirect() }
        try writer.write(text)
    }

    public func write(bytes: UnsafeRawBufferPointer) throws {
        if try writeDirect(bytes) { return }
        if direct { try endDirect() }
        try writer.write(bytes: bytes)
        unstarted += bytes.count
        if unstarted >= Self.writebackStep { startWriteback() }
    }

    // MARK: Direct writes

    /// The alignment of memory, file offset and length that direct writes need (the page size; block devices
    /// need at most that).
    package static let directAlignment = 4096
    /// The smallest write that goes out directly.
    static let directMinimum = 64 << 10
    /// Whether the descriptor has `O_DIRECT` set now; whether the file system refused it (then never again).
    private var direct = false
    private var directRefused = false
    /// Bytes written past the descriptor's buffer with direct writes (the file offset is this plus the
    /// writer's bytes).
    private var directBytes = 0

    #if os(Linux) && arch(x86_64)
        private static let directFlag: Int32 = 0o40000  // O_DIRECT (not exported by Swift's Glibc module)
    #elseif os(Linux) && arch(arm64)
        private static let directFlag: Int32 = 0o200000
    #else
        private static let directFlag: Int32 = 0
    #endif

    /// Writes `bytes` with `O_DIRECT` — from the disk's side straight out of this memory, without the kernel
    /// copying them into the page cache — when memory, length and the file offset are aligned for it (the
    /// mebibyte chunks of ``BackgroundSink`` are); returns `false` when the bytes must be written normally.
    ///
    /// Measured, national CSV report from PostgreSQL (1.09 GB): the kernel's copy into the page cache
    /// (`copy_folio_from_iter_atomic`) was 30.8 % of the client's CPU samples (`perf record`, release build,
    /// load 5); see docs/performance.md for the figures with direct writes. A file system that refuses
    /// `O_DIRECT` (`EINVAL`) is written normally, as before. The file is as durable as before: ``commit()``
    /// still `fsync`s it (the size, the extents and the disk's cache) before the rename.
    private func writeDirect(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let alignment = Self.directAlignment
        guard Self.directFlag != 0, !directRefused, let base = bytes.baseAddress, bytes.count >= Self.directMinimum,
            bytes.count % alignment == 0, Int(bitPattern: base) % alignment == 0,
            (writer.written + directBytes) % alignment == 0
        else { return false }
        if !direct {
            try writer.flush()
            let flags = fcntl(descriptor, F_GETFL)
            guard flags >= 0, fcntl(descriptor, F_SETFL, flags | Self.directFlag) == 0 else {
                directRefused = true
                return false
            }
            direct = true
        }
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EINVAL && offset == 0 {
                    // The file system or the device takes no direct writes of this alignment: normal writes.
                    directRefused = true
                    try endDirect()
                    return false
                }
                throw OutputError.cannotWrite(target: path, reason: String(cString: strerror(errno)))
            }
            offset += written
            directBytes += written
            if offset < bytes.count && offset % alignment != 0 {
                // A short write that left the rest unaligned: the rest goes out normally.
                try endDirect()
                try writer.write(bytes: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                return true
            }
        }
        return true
    }

    /// Clears `O_DIRECT` (for the file's unaligned tail, and for anything after it).
    private func endDirect() throws {
        direct = false
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags & ~Self.directFlag) == 0 else {
            throw OutputError.cannotWrite(target: path, reason: String(cString: strerror(errno)))
        }
    }

    /// Bytes written since the disk was last asked to start writing them, and the file offset up to which it was.
    private var unstarted = 0
    private var started: off_t = 0
    /// How many bytes are written before the disk is asked to start writing them.
    static let writebackStep = 32 << 20

    /// Asks the system to start writing what is written so far to disk, without waiting, so that ``commit()``'s
    /// `fsync` finds little left: a national CSV report (1.09 GB) otherwise waited 0.36 s for it after the last
    /// row (`strace -T`, load about 9), with the CPU idle. On Linux `POSIX_FADV_DONTNEED` starts the write-back of
    /// the range's dirty pages (and drops only pages already clean, which a range written just now has none of).
    private func startWriteback() {
        unstarted = 0
        #if os(Linux)
            let end = lseek(descriptor, 0, SEEK_CUR)
            guard end > started else { return }
            _ = posix_fadvise(descriptor, started, end - started, POSIX_FADV_DONTNEED)
            started = end
        #endif
    }

    /// Flushes to disk and puts the file in place.
    public func commit() throws {
        guard !finished else { return }
        do {
            if direct { try endDirect() }
            try writer.flush()
            guard fsync(descriptor) == 0 else {
                throw OutputError.cannotWrite(target: path, reason: String(cString: strerror(errno)))
            }
            close(descriptor)
            finished = true
            guard rename(temporaryPath, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporaryPath)
                throw OutputError.cannotWrite(target: path, reason: reason)
            }
            // Make the rename itself durable.
            let directory = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_CLOEXEC)
            if directory >= 0 {
                fsync(directory)
                close(directory)
            }
        } catch {
            discard()
            throw error
        }
    }

    /// Throws the temporary file away; the target stays as it was.
    public func discard() {
        guard !finished else { return }
        finished = true
        close(descriptor)
        unlink(temporaryPath)
    }

    /// Writes `path` atomically with `body`; on any error nothing is left under `path`.
    public static func write<T>(to path: String, _ body: (AtomicFileSink) throws -> T) throws -> T {
        let sink = try AtomicFileSink(path: path)
        do {
            let result = try body(sink)
            try sink.commit()
            return result
        } catch {
            sink.discard()
            throw error
        }
    }
}
