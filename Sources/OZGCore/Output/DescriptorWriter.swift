import Foundation

/// Buffered writing to a file descriptor — standard output, a temporary file, a pipe — with every failure
/// (a full disk, a closed pipe) thrown rather than lost.
public final class DescriptorWriter {
    /// The descriptor written to.
    public let descriptor: Int32
    /// What it is, for messages ("standard output", a file's path).
    public let name: String
    /// Whether the descriptor is a socket written without `SIGPIPE` (see ``init(socket:name:)``).
    private let isSocket: Bool
    private var buffer: [UInt8] = []
    /// Bytes gathered before they are written out.
    static let chunk = 1 << 16

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
        isSocket = false
        buffer.reserveCapacity(Self.chunk)
    }

    /// A writer to a stream socket whose writes never raise `SIGPIPE`: when the reader has gone, a write
    /// fails with `EPIPE` (thrown as ``OutputError``) instead of killing the process. This is a property of
    /// each call (`send` with `MSG_NOSIGNAL` on Linux; the socket's `SO_NOSIGPIPE` option, set here, on
    /// Apple platforms), so nothing process-wide changes and concurrent writers do not interfere.
    public init(socket: Int32, name: String) {
        descriptor = socket
        self.name = name
        isSocket = true
        #if canImport(Darwin)
            var on: Int32 = 1
            _ = setsockopt(socket, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif
        buffer.reserveCapacity(Self.chunk)
    }

    /// The bytes written so far (buffered or written out).
    package private(set) var written = 0

    /// Appends text; writes out whenever a chunk is full.
    public func write(_ text: String) throws {
        written += text.utf8.count
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.chunk { try flush() }
    }

    /// Appends bytes; writes out whenever a chunk is full.
    public func write(bytes: UnsafeRawBufferPointer) throws {
        written += bytes.count
        // A chunk at least as large as the buffer goes out as it is: copying it first would only cost time
        // (large reports arrive in chunks of a mebibyte).
        if bytes.count >= Self.chunk {
            try flush()
            try writeAll(bytes)
            return
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.chunk { try flush() }
    }

    /// Writes out what is buffered.
    /// - Throws: ``OutputError`` naming the target and the system's reason.
    public func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        try buffer.withUnsafeBytes { bytes in try writeAll(bytes) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = isSocket ? sendNoSignal(base + offset, bytes.count - offset) : Foundation.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError.cannotWrite(target: name, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    private func sendNoSignal(_ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if os(Linux)
            send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
        #else
            send(descriptor, bytes, count, 0)
        #endif
    }

    /// Forgets what is buffered.
    public func discard() {
        written -= buffer.count
        buffer.removeAll(keepingCapacity: true)
    }
}
