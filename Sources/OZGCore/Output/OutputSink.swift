/// Where text output goes: standard output, a file that is written atomically, a buffer in tests.
///
/// Writers call ``write(_:)`` many times with small pieces; a sink buffers as it sees fit. A write that
/// cannot be completed (a full disk, a closed pipe) throws.
public protocol OutputSink: AnyObject {
    /// Appends UTF-8 text.
    func write(_ text: String) throws
    /// Appends raw bytes (output of exporter plugins, which need not be text).
    func write(bytes: UnsafeRawBufferPointer) throws
}

/// An ``OutputSink`` that keeps everything in memory (for tests and small outputs).
public final class StringSink: OutputSink {
    /// Everything written so far.
    public private(set) var text = ""

    public init() {}

    public func write(_ text: String) { self.text += text }

    public func write(bytes: UnsafeRawBufferPointer) { text += String(decoding: bytes, as: UTF8.self) }
}

/// Output that could not be written.
public enum OutputError: Error, Sendable, CustomStringConvertible {
    /// Writing to `target` failed, e.g. because the disk is full.
    case cannotWrite(target: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let target, let reason): "cannot write \(target): \(reason)"
        }
    }
}
extension OutputError: DescribedError {}
