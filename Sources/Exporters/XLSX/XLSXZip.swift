import Foundation
import OZGCore

/// One entry of a ZIP file read into memory (the small package libxlsxwriter wrote).
struct ZipEntry {
    var name: String
    /// 0 stored, 8 deflated.
    var method: UInt16
    var crc: UInt32
    var size: Int
    var time: UInt16
    var date: UInt16
    /// The compressed bytes.
    var data: ArraySlice<UInt8>
}

/// Reads the entries of a ZIP file in memory: central directory, then each entry's data behind its local header.
/// Enough for what libxlsxwriter writes (no ZIP64, no encryption, one disk); anything else is refused.
func readZip(_ bytes: [UInt8], name: String) throws(XLSXError) -> [ZipEntry] {
    func fail(_ what: String) -> XLSXError { .output("cannot read back \(name) (\(what))") }
    func u16(_ at: Int) throws(XLSXError) -> Int {
        guard at >= 0, at + 2 <= bytes.count else { throw fail("truncated") }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }
    func u32(_ at: Int) throws(XLSXError) -> Int {
        guard at >= 0, at + 4 <= bytes.count else { throw fail("truncated") }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }
    // The end-of-central-directory record: the last 22 bytes unless there is a comment.
    var end = bytes.count - 22
    while end >= 0, try u32(end) != 0x0605_4B50 { end -= 1 }
    guard end >= 0 else { throw fail("no end of central directory") }
    let count = try u16(end + 10)
    let directoryOffset = try u32(end + 16)
    guard count != 0xFFFF, directoryOffset != 0xFFFF_FFFF else { throw fail("ZIP64 is not expected here") }
    var entries: [ZipEntry] = []
    var at = directoryOffset
    for _ in 0..<count {
        guard try u32(at) == 0x0201_4B50 else { throw fail("bad central directory") }
        let flags = try u16(at + 8)
        guard flags & 1 == 0 else { throw fail("encrypted entry") }
        let method = try u16(at + 10)
        let time = try u16(at + 12)
        let date = try u16(at + 14)
        let crc = try u32(at + 16)
        let compressedSize = try u32(at + 20)
        let size = try u32(at + 24)
        let nameLength = try u16(at + 28)
        let extraLength = try u16(at + 30)
        let commentLength = try u16(at + 32)
        let local = try u32(at + 42)
        guard at + 46 + nameLength <= bytes.count else { throw fail("truncated") }
        let entryName = String(decoding: bytes[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
        guard try u32(local) == 0x0403_4B50 else { throw fail("bad local header of \(entryName)") }
        let dataStart = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
        guard dataStart + compressedSize <= bytes.count, method == 0 || method == 8 else { throw fail("bad entry \(entryName)") }
        entries.append(
            ZipEntry(
                name: entryName, method: UInt16(method), crc: UInt32(crc), size: size, time: UInt16(time), date: UInt16(date),
                data: bytes[dataStart..<(dataStart + compressedSize)]))
        at += 46 + nameLength + extraLength + commentLength
    }
    return entries
}

/// Writes a ZIP file front to back into a sink: each entry's local header with its sizes and CRC (known
/// before its data, so no data descriptors), then the central directory. ZIP64 records are written for an
/// entry or a directory that passes the 32-bit limits, and only then (every reader knows the plain format).
struct ZipWriter {
    private let sink: any OutputSink
    private var offset = 0
    private var directory: [UInt8] = []
    private var entries = 0
    /// Sizes and offsets from this on are written as ZIP64 (the format's limit; lower in tests).
    private let limit: Int
    private static let marker = UInt32.max

    init(sink: any OutputSink, zip64From limit: Int = 0xFFFF_FFFF) {
        self.sink = sink
        self.limit = limit
    }

    /// Adds an entry whose compressed data `body` hands to the function it gets, exactly `compressedSize` bytes.
    mutating func add(
        name: String, method: UInt16, crc: UInt32, compressedSize: Int, size: Int, time: UInt16, date: UInt16,
        body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        let nameBytes = Array(name.utf8)
        let large = size >= limit || compressedSize >= limit
        let version: UInt16 = large || offset >= limit ? 45 : 20
        var local: [UInt8] = []
        local.le32(0x0403_4B50)
        local.le16(version)
        local.le16(0)  // flags
        local.le16(method)
        local.le16(time)
        local.le16(date)
        local.le32(crc)
        local.le32(large ? Self.marker : UInt32(compressedSize))
        local.le32(large ? Self.marker : UInt32(size))
        local.le16(UInt16(nameBytes.count))
        local.le16(large ? 20 : 0)
        local.append(contentsOf: nameBytes)
        if large {
            local.le16(1)
            local.le16(16)
            local.le64(UInt64(size))
            local.le64(UInt64(compressedSize))
        }
        let localOffset = offset
        try local.withUnsafeBytes { try sink.write(bytes: $0) }
        offset += local.count
        let counter = CountingOutput(sink: sink)
        try body { try counter.write($0) }
        guard counter.count == compressedSize else {
            throw XLSXError.output("the ZIP entry \(name) has \(counter.count) bytes, expected \(compressedSize)")
        }
        offset += counter.count

        var extra: [UInt8] = []
        if large || localOffset >= limit {
            var fields: [UInt8] = []
            if large {
                fields.le64(UInt64(size))
                fields.le64(UInt64(compressedSize))
            }
            if localOffset >= limit { fields.le64(UInt64(localOffset)) }
            extra.le16(1)
            extra.le16(UInt16(fields.count))
            extra.append(contentsOf: fields)
        }
        directory.le32(0x0201_4B50)
        directory.le16(0x0300 | version)  // made by: Unix
        directory.le16(version)
        directory.le16(0)
        directory.le16(method)
        directory.le16(time)
        directory.le16(date)
        directory.le32(crc)
        directory.le32(large ? Self.marker : UInt32(compressedSize))
        directory.le32(large ? Self.marker : UInt32(size))
        directory.le16(UInt16(nameBytes.count))
        directory.le16(UInt16(extra.count))
        directory.le16(0)  // comment
        directory.le16(0)  // disk
        directory.le16(0)  // internal attributes
        directory.le32(0o100644 << 16)  // external attributes: a regular file, rw-r--r--
        directory.le32(localOffset >= limit ? Self.marker : UInt32(localOffset))
        directory.append(contentsOf: nameBytes)
        directory.append(contentsOf: extra)
        entries += 1
    }

    /// Adds an entry whose compressed bytes are in memory.
    mutating func add(name: String, method: UInt16, crc: UInt32, size: Int, time: UInt16, date: UInt16, data: ArraySlice<UInt8>) throws {
        try add(name: name, method: method, crc: crc, compressedSize: data.count, size: size, time: time, date: date) { emit in
            try data.withUnsafeBytes { try emit($0) }
        }
    }

    /// Writes the central directory and its end records.
    mutating func finish() throws {
        let directoryOffset = offset
        var end = directory
        let zip64 = entries >= 0xFFFF || directoryOffset >= limit || directory.count >= limit
        if zip64 {
            let record = directoryOffset + directory.count
            end.le32(0x0606_4B50)
            end.le64(44)
            end.le16(0x0300 | 45)
            end.le16(45)
            end.le32(0)
            end.le32(0)
            end.le64(UInt64(entries))
            end.le64(UInt64(entries))
            end.le64(UInt64(directory.count))
            end.le64(UInt64(directoryOffset))
            end.le32(0x0706_4B50)
            end.le32(0)
            end.le64(UInt64(record))
            end.le32(1)
        }
        end.le32(0x0605_4B50)
        end.le16(0)
        end.le16(0)
        end.le16(zip64 ? 0xFFFF : UInt16(entries))
        end.le16(zip64 ? 0xFFFF : UInt16(entries))
        end.le32(zip64 ? Self.marker : UInt32(directory.count))
        end.le32(zip64 ? Self.marker : UInt32(directoryOffset))
        end.le16(0)
        try end.withUnsafeBytes { try sink.write(bytes: $0) }
        offset += end.count
    }
}

/// Hands bytes to a sink and counts them.
private final class CountingOutput {
    let sink: any OutputSink
    private(set) var count = 0

    init(sink: any OutputSink) { self.sink = sink }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try sink.write(bytes: bytes)
        count += bytes.count
    }
}

extension [UInt8] {
    mutating func le16(_ value: UInt16) {
        append(UInt8(value & 0xFF))
        append(UInt8(value >> 8))
    }

    mutating func le32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    mutating func le64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}
