import Foundation
import OZGCore
import Testing

/// The bytes `pattern` writes, and the same writes into `sink`: pieces of odd sizes across the mebibyte chunks of
/// ``BackgroundSink`` and the pages of direct writes, as text and as bytes, through a ``ByteWriter`` that hands its
/// buffers over and through plain writes.
private func write(_ pattern: OutputPattern, to sink: any OutputSink) throws -> [UInt8] {
    var expected: [UInt8] = []
    func piece(_ index: Int, _ length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: (index &* 131 &+ $0 &* 7) % 251) }
    }
    /// `rows` rows of `length(row)` bytes through a ByteWriter that hands its buffers over.
    func handOver(_ rows: Int, length: (Int) -> Int) throws {
        var out = ByteWriter(handingOverTo: sink)
        for row in 0..<rows {
            let bytes = piece(row, length(row))
            expected += bytes
            out.append(bytes)
            try out.flushIfFull()
        }
        try out.flush()
    }
    switch pattern {
    case .empty:
        break
    case .rowsHandedOver(let rows):
        try handOver(rows) { 90 + $0 % 113 }
    case .bytes(let sizes):
        for (index, size) in sizes.enumerated() {
            let bytes = piece(index, size)
            expected += bytes
            try bytes.withUnsafeBytes { try sink.write(bytes: $0) }
        }
    case .textThenRows(let rows):
        try sink.write("Kopf;ä\r\n")
        expected += Array("Kopf;ä\r\n".utf8)
        try handOver(rows) { 1 + $0 % 4_000 }
        try sink.write("Ende")
        expected += Array("Ende".utf8)
    }
    return expected
}

enum OutputPattern: CustomTestStringConvertible, Sendable {
    case empty
    case rowsHandedOver(Int)
    case bytes([Int])
    case textThenRows(Int)

    var testDescription: String {
        switch self {
        case .empty: "nothing"
        case .rowsHandedOver(let rows): "\(rows) rows through a ByteWriter that hands its buffers over"
        case .bytes(let sizes): "byte pieces of \(sizes.count) sizes"
        case .textThenRows(let rows): "text, \(rows) rows of up to 4,000 bytes, text"
        }
    }

    static let all: [OutputPattern] = [
        .empty, .rowsHandedOver(3), .rowsHandedOver(60_000), .textThenRows(3_000),
        .bytes([1 << 20, 1 << 20, 4_096, 65_536, 1 << 20]),  // whole chunks and pages: direct writes only
        .bytes([(1 << 20) + 1, 3 * (1 << 20) - 1, 7, 2 << 20]),  // unaligned from the start
        .bytes([4_095, 1 << 21, 1]),
    ]
}

/// Directories on the file systems at hand: the temporary directory, and a tmpfs when there is one (which may
/// refuse direct writes; the output must be the same).
private let directories: [String] = {
    var found = [FileManager.default.temporaryDirectory.path]
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: "/dev/shm", isDirectory: &isDirectory), isDirectory.boolValue,
        access("/dev/shm", W_OK) == 0
    {
        found.append("/dev/shm")
    }
    return found
}()

@Suite("Output to a file: the bytes written, whichever way they are written (direct or through the page cache)")
struct OutputSinkTests {
    @Test("through a BackgroundSink into an atomic file, the file holds exactly the bytes written",
          arguments: OutputPattern.all, directories)
    func backgroundIntoFile(pattern: OutputPattern, directory: String) throws {
        let path = directory + "/ozgtrack-output-\(UUID().uuidString).bin"
        defer { unlink(path) }
        var expected: [UInt8] = []
        try AtomicFileSink.write(to: path) { file in
            let background = BackgroundSink(file)
            expected = try write(pattern, to: background)
            try background.finish()
        }
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(written.count == expected.count)
        #expect(written == Data(expected))
    }

    @Test("straight into an atomic file, the file holds exactly the bytes written", arguments: OutputPattern.all, directories)
    func directlyIntoFile(pattern: OutputPattern, directory: String) throws {
        let path = directory + "/ozgtrack-output-\(UUID().uuidString).bin"
        defer { unlink(path) }
        var expected: [UInt8] = []
        try AtomicFileSink.write(to: path) { file in expected = try write(pattern, to: file) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))
    }

    @Test("through a BackgroundSink into memory, the bytes arrive in order", arguments: OutputPattern.all)
    func backgroundIntoMemory(pattern: OutputPattern) throws {
        let memory = ByteSink()
        let background = BackgroundSink(memory)
        let expected = try write(pattern, to: background)
        try background.finish()
        #expect(memory.bytes == expected)
    }

    @Test("a failed file write stops the writer handing buffers over; the target is not written")
    func failureWhileHandingOver() throws {
        let path = FileManager.default.temporaryDirectory.path + "/ozgtrack-output-\(UUID().uuidString).bin"
        defer { unlink(path) }
        #expect(throws: OutputError.self) {
            try AtomicFileSink.write(to: path) { _ in
                let background = BackgroundSink(FailingSink())
                _ = try write(.rowsHandedOver(60_000), to: background)
                try background.finish()
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

/// Keeps the bytes written, as they arrive.
private final class ByteSink: OutputSink {
    var bytes: [UInt8] = []
    func write(_ text: String) { bytes += Array(text.utf8) }
    func write(bytes: UnsafeRawBufferPointer) { self.bytes += Array(bytes) }
}

/// Fails every write, as a full disk does.
private final class FailingSink: OutputSink {
    func write(_ text: String) throws { throw OutputError.cannotWrite(target: "the disk", reason: "No space left on device") }
    func write(bytes: UnsafeRawBufferPointer) throws {
        throw OutputError.cannotWrite(target: "the disk", reason: "No space left on device")
    }
}
