import Foundation
import OZGCore
import Testing

@testable import Exporters

/// Runs a program; its exit status and output (standard output and error together).
private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Collects bytes written to it.
private final class BytesSink: OutputSink {
    var bytes: [UInt8] = []
    func write(_ text: String) { bytes.append(contentsOf: Array(text.utf8)) }
    func write(bytes: UnsafeRawBufferPointer) { self.bytes.append(contentsOf: bytes) }
}

@Suite("XLSX package: ozgtrack's own deflate streams and ZIP writer")
struct XLSXPackageTests {
    /// Text with repetition and variety, as sheet XML has.
    static func sample(_ rows: Int, seed: Int) -> [UInt8] {
        var text = ""
        for row in 0..<rows { text += "<row><c t=\"s\"><v>\(row % 97)</v></c><c><v>\((row * 7919 + seed) % 100_003)</v></c></row>" }
        return Array(text.utf8)
    }

    @Test("raw deflate streams ended with a sync flush concatenate: the pieces inflate as one, and the CRCs combine")
    func concatenatedStreams() throws {
        let pieces = [Self.sample(10, seed: 1), [], Self.sample(5000, seed: 2), Self.sample(3, seed: 3)]
        let deflater = try RawDeflater(level: 1)
        var compressed: [UInt8] = []
        var crc: UInt32 = 0
        for (index, piece) in pieces.enumerated() {
            compressed += try deflater.compressed(piece, flush: index == pieces.count - 1 ? .finish : .sync)
            crc = CRC32.combine(crc, CRC32.of(piece), length: piece.count)
        }
        let whole = pieces.flatMap { $0 }
        #expect(try rawInflate(compressed[...], size: whole.count) == whole)
        #expect(crc == CRC32.of(whole))
    }

    @Test(
        "ISA-L's streams (the Daten rows) concatenate with zlib's: sync-flushed parts without shared history, a whole stream, and the same CRC-32"
    )
    func fastDeflaterStreams() throws {
        // As a Daten sheet is put together: zlib's head (sync), the rows from ISA-L (parts ended with a sync flush,
        // the second one not referring back into the first), zlib's tail (finish).
        let head = Self.sample(7, seed: 4)
        let parts = [Self.sample(20_000, seed: 5), [], Self.sample(20_000, seed: 5), Self.sample(1, seed: 6)]
        let tail = Self.sample(2, seed: 7)
        let zlib = try RawDeflater(level: 6)
        let fast = FastDeflater()
        var compressed = try zlib.compressed(head, flush: .sync)
        var crc = CRC32.of(head)
        var compressedParts: [[UInt8]] = []
        for part in parts {
            var piece: [UInt8] = []
            try part.withUnsafeBytes { bytes in
                // In two chunks, as the deflating thread gets them.
                let half = bytes.count / 2
                try fast.compress(UnsafeRawBufferPointer(rebasing: bytes[..<half]), sync: false) { piece += $0 }
                try fast.compress(UnsafeRawBufferPointer(rebasing: bytes[half...]), sync: true) { piece += $0 }
                #expect(CRC32.fastUpdate(0, bytes) == CRC32.of(part))
                crc = CRC32.combine(crc, CRC32.fastUpdate(0, bytes), length: part.count)
            }
            compressedParts.append(piece)
            compressed += piece
        }
        compressed += try zlib.compressed(tail, flush: .finish)
        crc = CRC32.combine(crc, CRC32.of(tail), length: tail.count)
        let whole = head + parts.flatMap { $0 } + tail
        #expect(try rawInflate(compressed[...], size: whole.count) == whole)
        #expect(crc == CRC32.of(whole))
        // The third part (the same text as the first) inflates alone: it refers to nothing before it.
        let alone = compressedParts[2] + (try zlib.compressed([], flush: .finish))
        #expect(try rawInflate(alone[...], size: parts[2].count) == parts[2])
        // A whole stream from ISA-L (the link relationships).
        #expect(try rawInflate(try fast.compressed(whole)[...], size: whole.count) == whole)
    }

    @Test("the ZIP writer's files pass unzip -t and Python's zipfile, with and without ZIP64 records", arguments: [false, true])
    func zipFiles(zip64: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = BytesSink()
        // A limit of 0 writes every size and offset as ZIP64, as a package over 4 GB would.
        var zip = ZipWriter(sink: sink, zip64From: zip64 ? 0 : 0xFFFF_FFFF)
        let stored = Array("stored bytes\n".utf8)
        let deflated = Self.sample(2000, seed: 5)
        let deflater = try RawDeflater(level: 6)
        try zip.add(name: "a/stored.txt", method: 0, crc: CRC32.of(stored), size: stored.count, time: 0x6000, date: 0x5B81, data: stored[...])
        try zip.add(
            name: "b/deflated.xml", method: 8, crc: CRC32.of(deflated), size: deflated.count, time: 0x6000, date: 0x5B81,
            data: try deflater.compressed(deflated, flush: .finish)[...])
        try zip.finish()
        let path = directory.appendingPathComponent("test.zip").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(sink.bytes)))

        let unzip = try run(["unzip", "-t", path])
        #expect(unzip.status == 0, "\(unzip.output)")
        let python = try run(["python3", "-m", "zipfile", "-t", path])
        #expect(python.status == 0, "\(python.output)")
        let back = try run(["unzip", "-p", path, "b/deflated.xml"])
        #expect(Array(back.output.utf8) == deflated)
        if !zip64 {
            // What ozgtrack reads back from libxlsxwriter: the same entries.
            let entries = try readZip(sink.bytes, name: "test.zip")
            #expect(entries.map(\.name) == ["a/stored.txt", "b/deflated.xml"])
            #expect(try rawInflate(entries[1].data, size: entries[1].size) == deflated)
        }
    }

    @Test("a workbook passes unzip -t and Python's zipfile; its Daten sheet is one part with shared strings")
    func workbookArchive() throws {
        let fixture = try Fixture()
        let files = try writeWorkbook(try Fixture.query(scope: "08115"), fixture: fixture, in: fixture.directory)
        let unzip = try run(["unzip", "-t", files.xlsx])
        #expect(unzip.status == 0, "\(unzip.output)")
        let python = try run(["python3", "-m", "zipfile", "-t", files.xlsx])
        #expect(python.status == 0, "\(python.output)")
        let list = try run(["unzip", "-Z1", files.xlsx])
        #expect(list.output.contains("xl/sharedStrings.xml"))
        #expect(list.output.contains("xl/worksheets/_rels/"))  // the Daten sheet's hyperlinks
    }

    @Test("cell text: control characters other than tab and line feed as _xHHHH_, markup escaped, white space kept")
    func cellText() throws {
        let escaped = try DataRowEncoder.escaped("\tA&B<C>\r\n\u{1}")
        #expect(String(decoding: escaped.bytes, as: UTF8.self) == "\tA&amp;B&lt;C&gt;_x000D_\n_x0001_")
        #expect(escaped.preserve)
        #expect(try DataRowEncoder.escaped("plain").preserve == false)
        #expect(DataRowEncoder.number(45_658.5) == Array("45658.5".utf8))
        #expect(DataRowEncoder.number(45_658) == Array("45658".utf8))
    }
}
