import Foundation

/// Where an import reads from: a file, or the process's standard input.
///
/// The library never gives a path a special meaning: a front end maps its own conventions (the CLI's `-`) to
/// ``standardInput``.
public enum InputSource: Sendable, Hashable {
    /// The file at this path.
    case file(String)
    /// Everything on standard input, read to its end.
    case standardInput

    /// The name messages use: the path, or `<stdin>`.
    public var name: String {
        switch self {
        case .file(let path): path
        case .standardInput: "<stdin>"
        }
    }
}

/// Reads an input's bytes: a file memory-mapped from disk, or all of standard input.
public enum InputFile {
    /// The largest input accepted, so that hostile input cannot exhaust memory: 4 GiB.
    public static let maxBytes = 4 << 30

    /// Calls `body` with the file's bytes.
    /// - Throws: ``InputError`` naming the file when it cannot be read, is a directory or is too large.
    public static func withBytes<R>(_ source: InputSource, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withInput(source) { try body($0.bytes) }
    }

    /// Calls `body` with the file as ``InputBytes``, which can give back pages already read.
    public static func withInput<R>(_ source: InputSource, _ body: (InputBytes) throws -> R) throws -> R {
        guard case .file(let path) = source else {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            if data.count > maxBytes {
                throw InputError(.unreadable, file: "<stdin>", message: "is \(data.count) bytes long: expected at most \(maxBytes) bytes")
            }
            return try data.withUnsafeBytes { try body(InputBytes(bytes: $0, mapping: nil)) }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(.unreadable, file: path, message: "does not exist: expected a readable file")
        }
        if isDirectory.boolValue { throw InputError(.unreadable, file: path, message: "is a directory: expected a file") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw InputError(.unreadable, file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw InputError(.unreadable, file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        let size = Int(info.st_size)
        if size > maxBytes { throw InputError(.unreadable, file: path, message: "is \(size) bytes long: expected at most \(maxBytes) bytes") }
        if size == 0 { return try body(InputBytes(bytes: UnsafeRawBufferPointer(start: nil, count: 0), mapping: nil)) }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw InputError(.unreadable, file: path, message: "cannot be read (\(String(cString: strerror(errno)))): expected a readable file")
        }
        defer { munmap(base, size) }
        madvise(base, size, MADV_SEQUENTIAL)
        return try body(InputBytes(bytes: UnsafeRawBufferPointer(start: base, count: size), mapping: base))
    }
}

/// An input's bytes; for a mapped file, pages already read can be given back.
///
/// Reading a mapped file keeps every page touched in the process's memory until the mapping ends: a national
/// import would hold all 330 MB of its CSV. Readers that go front to back call ``release(before:)`` now and
/// then, so that memory stays bounded (the pages come back from the page cache should anything read them again).
public final class InputBytes {
    /// Bytes that are not a mapped file (tests, fuzzing, standard input).
    public convenience init(bytes: UnsafeRawBufferPointer) { self.init(bytes: bytes, mapping: nil) }

    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?
    private var released = 0
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    /// Pages are given back in steps of this size.
    private static let step = 16 << 20

    init(bytes: UnsafeRawBufferPointer, mapping: UnsafeMutableRawPointer?) {
        self.bytes = bytes
        self.mapping = mapping
    }

    /// Gives back the pages that lie wholly before `offset`; they will not be read again.
    public func release(before offset: Int) {
        guard let mapping, offset - released >= Self.step else { return }
        let end = offset / Self.page * Self.page
        guard end > released else { return }
        madvise(mapping + released, end - released, MADV_DONTNEED)
        released = end
    }
}
