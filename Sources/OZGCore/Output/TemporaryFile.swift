import Foundation

/// A scratch file for output that must be written before something that goes in front of it (a summary on
/// top of a long report). It is removed from the directory as soon as it is created, so that nothing is left
/// behind whatever happens; it lives in `TMPDIR` (or `/tmp`).
public final class TemporaryFile: OutputSink {
    private let descriptor: Int32
    private let writer: DescriptorWriter

    /// Creates the file.
    /// - Throws: ``OutputError`` when the temporary directory cannot take it.
    public init() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let path = directory + "/.ozgtrack-\(UUID().uuidString).tmp"
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw OutputError.cannotWrite(target: "a temporary file in \(directory)", reason: String(cString: strerror(errno)))
        }
        unlink(path)
        writer = DescriptorWriter(descriptor: descriptor, name: "a temporary file in \(directory)")
    }

    deinit { close(descriptor) }

    public func write(_ text: String) throws { try writer.write(text) }

    public func write(bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes: bytes) }

    /// Writes everything written so far into `sink`.
    public func copy(to sink: any OutputSink) throws {
        try writer.flush()
        guard lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw OutputError.cannotWrite(target: "a temporary file", reason: String(cString: strerror(errno)))
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw OutputError.cannotWrite(target: "a temporary file", reason: String(cString: strerror(errno)))
            }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try sink.write(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}
