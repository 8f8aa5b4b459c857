import Foundation
import OZGCore

/// The limits ozgtrack applies to XML input.
public enum XMLInputLimits {
    /// The largest XML input accepted: 16 GiB. Input is streamed (never held in memory), so the limit bounds
    /// the work hostile input can cause rather than memory; a national report of about six million rows is
    /// roughly 3 GB (6 GB with every record filled in and provenance). Larger than `InputFile.maxBytes`
    /// because the XML format repeats names on every row.
    public static let maxBytes = 16 << 30
    /// The most bytes accepted before the root element (XML declaration, comments): 1 MiB.
    public static let maxPrologBytes = 1 << 20
    /// The most attributes (namespace declarations included) one element may have: 64. ozgtrack's elements have
    /// at most eleven; the limit stops libxml2 2.9's duplicate-attribute check, whose time grows with the square
    /// of the count (100,000 attributes in 1 MB take about 20 seconds), before it starts.
    public static let maxAttributes = 64
}

/// The bytes of an XML input, handed to libxml2 in chunks through its read callback.
///
/// Before libxml2 sees anything, the prolog is checked: a document type declaration is refused (so that no DTD
/// is read and no entity declared, hence none expanded or fetched), as are UTF-16/UTF-32 input and a declared
/// encoding other than UTF-8. The size limit is enforced as bytes arrive. A refusal is kept in ``failure``;
/// the callback then reports an error, which stops libxml2.
final class XMLInputStream {
    private enum Origin {
        case descriptor(Int32, owned: Bool)
        case memory([UInt8])
    }

    /// The handle read from, kept open while it is read (``init(handle:name:maxBytes:)``).
    private let handle: FileHandle?

    /// The input's name in messages.
    let file: String
    let maxBytes: Int
    /// Why reading stopped early, if it did.
    private(set) var failure: InputError?
    private var origin: Origin
    private var consumed = 0
    private var held: [UInt8] = []
    private var heldOffset = 0
    private var prologChecked = false
    private var markup = XMLMarkupGuard()
    private var memoryOffset = 0
    private var closed = false

    /// Opens the file at `path`.
    /// - Throws: `InputError` naming the file when it does not exist, is a directory, cannot be opened or is
    ///   larger than `maxBytes`.
    init(path: String, maxBytes: Int) throws(InputError) {
        self.maxBytes = maxBytes
        handle = nil
        file = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { throw InputError(file: path, message: "does not exist: expected a readable file") }
            throw InputError(file: path, message: "cannot be opened (\(String(cString: strerror(code)))): expected a readable file")
        }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR {
                _ = close(descriptor)
                throw InputError(file: path, message: "is a directory: expected a file")
            }
            if status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) > maxBytes {
                _ = close(descriptor)
                throw InputError(file: path, message: "is \(status.st_size) bytes long: expected at most \(maxBytes) bytes of XML")
            }
        }
        origin = .descriptor(descriptor, owned: true)
    }

    /// Reads an open handle (standard input, a pipe) from where it stands; `name` is used in messages. The
    /// handle is not closed.
    init(handle: FileHandle, name: String, maxBytes: Int) {
        self.handle = handle
        file = name
        self.maxBytes = maxBytes
        origin = .descriptor(handle.fileDescriptor, owned: false)
    }

    /// An input held in memory (for validating a string).
    init(bytes: [UInt8], name: String, maxBytes: Int) {
        handle = nil
        file = name
        self.maxBytes = maxBytes
        origin = .memory(bytes)
    }

    deinit { closeInput() }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func closeInput() {
        guard !closed else { return }
        closed = true
        if case .descriptor(let descriptor, owned: true) = origin { _ = close(descriptor) }
        origin = .memory([])
    }

    /// The line of the next start tag libxml2 was given and no element node has claimed yet (see
    /// ``XMLMarkupGuard``).
    func takeStartLine() -> Int? { markup.takeStartLine() }

    /// Fills `buffer` with up to `capacity` bytes: the count, 0 at the end, -1 after a refusal or a read error.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int32 {
        guard failure == nil else { return -1 }
        if !prologChecked {
            guard checkProlog() else { return -1 }
        }
        let count: Int
        if heldOffset < held.count {
            count = min(capacity, held.count - heldOffset)
            held.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { buffer.copyMemory(from: base + heldOffset, byteCount: count) }
            }
            heldOffset += count
            if heldOffset == held.count {
                held = []
                heldOffset = 0
            }
        } else {
            count = readRaw(into: buffer, capacity: capacity)
            if count < 0 { return -1 }
        }
        if let line = markup.scan(UnsafeRawBufferPointer(start: buffer, count: count)) {
            failure = InputError(
                file: file, line: line,
                message: "an element has more than \(XMLInputLimits.maxAttributes) attributes: expected at most "
                    + "\(XMLInputLimits.maxAttributes) (ozgtrack's elements have at most eleven)")
            return -1
        }
        return Int32(count)
    }

    /// Reads until the prolog is decided; keeps what was read for libxml2. `false` when refused.
    private func checkProlog() -> Bool {
        let chunk = 64 << 10
        var scratch = [UInt8](repeating: 0, count: chunk)
        while true {
            let count = scratch.withUnsafeMutableBytes { bytes -> Int in
                guard let base = bytes.baseAddress else { return -1 }
                return readRaw(into: base, capacity: chunk)
            }
            if count < 0 { return false }
            held.append(contentsOf: scratch[0..<count])
            let verdict = held.withUnsafeBufferPointer { XMLProlog.check($0, atEnd: count == 0) }
            switch verdict {
            case .needMore:
                if held.count > XMLInputLimits.maxPrologBytes {
                    failure = InputError(
                        file: file, line: 1,
                        message: "has more than \(XMLInputLimits.maxPrologBytes) bytes before the root element: expected the root "
                            + "element umsetzungsbericht near the start")
                    return false
                }
            case .accepted:
                prologChecked = true
                return true
            case .refused(let line, let field, let message):
                failure = InputError(file: file, line: line, field: field, message: message)
                return false
            }
        }
    }

    /// Reads raw bytes and enforces the size limit: the count, 0 at the end, -1 on failure.
    private func readRaw(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int {
        var count: Int
        switch origin {
        case .memory(let bytes):
            count = min(capacity, bytes.count - memoryOffset)
            bytes.withUnsafeBytes { source in
                if let base = source.baseAddress, count > 0 { buffer.copyMemory(from: base + memoryOffset, byteCount: count) }
            }
            memoryOffset += count
        case .descriptor(let descriptor, _):
            repeat {
                count = Foundation.read(descriptor, buffer, capacity)
            } while count < 0 && errno == EINTR
            if count < 0 {
                failure = InputError(file: file, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
                return -1
            }
        }
        consumed += count
        if consumed > maxBytes {
            failure = InputError(file: file, message: "is longer than \(maxBytes) bytes: expected at most \(maxBytes) bytes of XML")
            return -1
        }
        return count
    }
}
