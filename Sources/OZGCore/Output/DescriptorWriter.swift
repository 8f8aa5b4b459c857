import Foundation

/// Buffered writing to a file descriptor — standard output, a temporary file, a pipe — with every failure
/// (a full disk, a closed pipe) thrown rather than lost.
public final class DescriptorWriter {
    /// The descriptor written to.
    public let descriptor: Int32
    /// What it is, for messages ("standard output", a file's path).
    public let name: String
    private var buffer: [UInt8] = []
    /// Bytes gathered before they are written out.
    static let chunk = 1 << 16

    public init(descriptor: Int32, name: String) {
        self.descriptor = descriptor
        self.name = name
        buffer.reserveCapacity(Self.chunk)
    }

    /// Appends text; writes out whenever a chunk is full.
    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.chunk { try flush() }
    }

    /// Appends bytes; writes out whenever a chunk is full.
    public func write(bytes: UnsafeRawBufferPointer) throws {
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
            let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw OutputError.cannotWrite(target: name, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    /// Forgets what is buffered.
    public func discard() { buffer.removeAll(keepingCapacity: true) }
}
