import CLibXML
import Foundation
import OZGCore

/// Passes libxml2's output to an `OutputSink` in blocks of ``blockSize`` bytes.
///
/// libxml2 hands over chunks of about 4 KB; they are gathered so that the sink sees few, large writes. Writing
/// out at the same time as formatting is the sink's business: the command-line tool wraps every exporter's
/// sink in `BackgroundSink`, which does it for all formats alike.
///
/// A block never ends inside a UTF-8 sequence (the incomplete tail, at most three bytes, stays for the next
/// block), so that every piece the sink receives is whole UTF-8 (a sink that decodes each piece, like
/// `StringSink`, must not see half a character). A sink error is kept and makes the C callback fail, which makes
/// every later libxml2 call fail; the writer then throws it.
final class SinkBridge {
    /// The size of a block: 1 MiB.
    static let blockSize = 1 << 20

    private let sink: any OutputSink
    private let blockSize: Int
    private let block: UnsafeMutablePointer<UInt8>
    private var count = 0
    /// The first error the sink threw.
    private(set) var error: (any Error)?

    /// A bridge to `sink`, in blocks of `blockSize` bytes (at least 4; smaller ones in tests).
    init(sink: any OutputSink, blockSize: Int = SinkBridge.blockSize) {
        self.sink = sink
        self.blockSize = max(blockSize, 4)
        block = .allocate(capacity: self.blockSize)
    }

    deinit { block.deallocate() }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Takes `bytes`; `false` when the sink failed (now or before).
    func write(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard error == nil else { return false }
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let taken = min(bytes.count - offset, blockSize - count)
            (block + count).update(from: base + offset, count: taken)
            count += taken
            offset += taken
            if count == blockSize, !passOn(upTo: Self.completeLength(UnsafeBufferPointer(start: block, count: count))) {
                return false
            }
        }
        return true
    }

    /// Writes the first `length` bytes of the block to the sink and keeps the rest at the block's start.
    private func passOn(upTo length: Int) -> Bool {
        do {
            try sink.write(bytes: UnsafeRawBufferPointer(start: block, count: length))
        } catch let thrown {
            error = thrown
            count = 0
            return false
        }
        memmove(block, block + length, count - length)
        count -= length
        return true
    }

    /// Writes what is left; `false` when the sink failed (now or before).
    func finish() -> Bool {
        guard error == nil else { return false }
        return count == 0 || passOn(upTo: count)
    }

    /// Passes on the block and then `bytes`, straight to the sink (whole UTF-8 both: written past libxml2 after
    /// flushing it, see ``XMLStreamWriter/writeDirect(_:)``).
    func writeThrough(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard error == nil else { return false }
        if count > 0 && !passOn(upTo: count) { return false }
        do {
            try sink.write(bytes: bytes)
        } catch let thrown {
            error = thrown
            return false
        }
        return true
    }

    /// Drops what has not been written yet (the export failed).
    func cancel() { count = 0 }

    /// The length of the UTF-8 sequence that starts with `byte` (1 for anything that does not start one).
    private static func sequenceLength(_ byte: UInt8) -> Int {
        byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
    }

    /// The length of `bytes` without a UTF-8 sequence that starts in its last three bytes and is not complete.
    static func completeLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var back = 1
        while back <= 3 && back <= bytes.count {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 != 0x80 {
                return sequenceLength(byte) > back ? bytes.count - back : bytes.count
            }
            back += 1
        }
        return bytes.count
    }
}

/// A thin, throwing layer over libxml2's `xmlTextWriter`, writing UTF-8 into an `OutputSink`.
///
/// Made for millions of elements: names are `StaticString`s and values that repeat are C strings prepared once
/// (``CStringTable``), both passed to libxml2 without conversion; a Swift `String` is handed over with
/// `withCString` (no copy for native strings) only where it is real text. Escaping is libxml2's.
///
/// libxml2's own indentation is off: it writes the indentation one level at a time and measures the depth by
/// walking its list of open elements, for every element. Line breaks and indentation are written here instead,
/// with ``newline(_:)``, one `xmlTextWriterWriteRawLen` call of a constant; every element that gets one starts
/// on its own line, so that errors found when the file is read back name the line of the element.
final class XMLStreamWriter {
    private let writer: xmlTextWriterPtr
    private let output: xmlOutputBufferPtr
    private let bridge: SinkBridge
    private let diagnostics: LibXMLDiagnostics
    private var closed = false
    /// Room for a number or a date in decimal, NUL-terminated.
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)

    /// - Throws: ``OutputError`` when libxml2 cannot create the writer.
    init(sink: any OutputSink, diagnostics: LibXMLDiagnostics) throws {
        self.diagnostics = diagnostics
        let bridge = SinkBridge(sink: sink)
        self.bridge = bridge
        let write: xmlOutputWriteCallback = { context, buffer, length in
            guard let context, let buffer, length >= 0 else { return -1 }
            let bridge = Unmanaged<SinkBridge>.fromOpaque(context).takeUnretainedValue()
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: Int(length))
            return bridge.write(bytes) ? length : -1
        }
        let close: xmlOutputCloseCallback = { _ in 0 }
        // The writer owns the output buffer; the bridge outlives both (it is a stored property of self).
        guard let output = xmlOutputBufferCreateIO(write, close, bridge.opaque, nil) else {
            scratch.deallocate()
            throw OutputError.cannotWrite(target: "the XML report", reason: "libxml2 could not create an output buffer")
        }
        guard let writer = xmlNewTextWriter(output) else {
            xmlOutputBufferClose(output)
            scratch.deallocate()
            throw OutputError.cannotWrite(target: "the XML report", reason: "libxml2 could not create a writer")
        }
        self.output = output
        self.writer = writer
        xmlTextWriterSetIndent(writer, 0)
    }

    deinit {
        if !closed {
            // The export failed: libxml2 flushes what it holds into the bridge, which drops it.
            xmlFreeTextWriter(writer)
            bridge.cancel()
        }
        scratch.deallocate()
    }

    static let trueText: StaticString = "true"
    static let falseText: StaticString = "false"
    /// A line feed and enough spaces for the deepest indentation written.
    private static let breaks: StaticString = "\n                                "

    /// Throws the sink's error, or libxml2's, when a call returned an error code.
    @inline(__always)
    private func check(_ result: Int32) throws {
        if result < 0 { try fail() }
    }

    private func fail() throws -> Never {
        if let error = bridge.error { throw error }
        let detail = diagnostics.take().last?.message ?? "an unknown error"
        throw OutputError.cannotWrite(target: "the XML report", reason: "libxml2 reported \(detail)")
    }

    /// Writes the XML declaration (`<?xml version="1.0" encoding="UTF-8"?>`).
    ///
    /// Declaring UTF-8 makes libxml2 mark its document as UTF-8, so that it writes characters outside ASCII in
    /// attribute values as they are rather than as character references. It also installs its UTF-8 to UTF-8
    /// "converter" on the output buffer, which copies every piece written, however small, a second time; since
    /// the text is UTF-8 already, the converter is taken off again once the declaration has gone out. (It is
    /// one of libxml2's built-in handlers, which are never freed.)
    func startDocument() throws {
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil))
        try check(xmlTextWriterFlush(writer))
        output.pointee.encoder = nil
    }

    /// Starts the root element in `namespace` (written as the default namespace).
    func startRoot(_ name: StaticString, namespace: String) throws {
        try namespace.withXMLChars { try check(xmlTextWriterStartElementNS(writer, nil, name.utf8Start, $0)) }
    }

    @inline(__always)
    func start(_ name: StaticString) throws {
        try check(xmlTextWriterStartElement(writer, name.utf8Start))
    }

    /// Ends the innermost open element: `/>` when it has no content, `</name>` otherwise.
    @inline(__always)
    func end() throws {
        try check(xmlTextWriterEndElement(writer))
    }

    /// A line break and `depth` levels of indentation (two spaces each), written as they are. Closes the start
    /// tag of the element just started, as any content does.
    @inline(__always)
    func newline(_ depth: Int) throws {
        try check(xmlTextWriterWriteRawLen(writer, Self.breaks.utf8Start, Int32(1 + 2 * depth)))
    }

    // MARK: Attributes (on the element just started)

    /// `name="value"` for a constant (a status, `true`); libxml2 escapes as for any value.
    @inline(__always)
    func attribute(_ name: StaticString, _ value: StaticString) throws {
        try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, value.utf8Start))
    }

    /// `name="value"` for a prepared, NUL-terminated value (see ``CStringTable``).
    @inline(__always)
    func attribute(_ name: StaticString, _ value: UnsafePointer<xmlChar>) throws {
        try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, value))
    }

    /// `name="value"`: characters XML forbids are replaced (``XMLText/sanitized(_:)``), then libxml2 escapes
    /// `<`, `>`, `&`, `"` and tab, line feed and carriage return (which survive attribute normalisation so).
    func attribute(_ name: StaticString, _ value: String) throws {
        try XMLText.sanitized(value).withXMLChars { try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, $0)) }
    }

    /// `name="value"` for a value known to be clean (sanitized before, or ASCII digits and dashes).
    func attribute(_ name: StaticString, clean value: String) throws {
        try value.withXMLChars { try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, $0)) }
    }

    /// `name="123"`.
    func attribute(_ name: StaticString, _ value: Int) throws {
        try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, decimal(value)))
    }

    /// `name="YYYY-MM-DD"`.
    func attribute(_ name: StaticString, _ date: ISODate) throws {
        var index = 0
        func put(_ value: Int, digits: Int) {
            var divisor = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                scratch[index] = UInt8(truncatingIfNeeded: 0x30 + rest / divisor % 10)
                index += 1
                rest %= divisor
                divisor /= 10
            }
        }
        put(date.year, digits: 4)
        scratch[index] = 0x2D
        index += 1
        put(date.month, digits: 2)
        scratch[index] = 0x2D
        index += 1
        put(date.day, digits: 2)
        scratch[index] = 0
        try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, scratch))
    }

    /// `value` in decimal, NUL-terminated, in the scratch buffer.
    private func decimal(_ value: Int) -> UnsafePointer<xmlChar> {
        var magnitude = value.magnitude
        var digits = 0
        repeat {
            digits += 1
            magnitude /= 10
        } while magnitude > 0
        let sign = value < 0 ? 1 : 0
        if sign == 1 { scratch[0] = 0x2D }
        magnitude = value.magnitude
        var index = sign + digits
        scratch[index] = 0
        repeat {
            index -= 1
            scratch[index] = UInt8(truncatingIfNeeded: 0x30 + magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return UnsafePointer(scratch)
    }

    // MARK: Elements with text

    /// `<name>text</name>`: characters XML forbids are replaced (``XMLText/sanitized(_:)``), then libxml2
    /// escapes `<`, `>`, `&`, `"` and writes a carriage return as `&#13;` (so that parsers keep it).
    func element(_ name: StaticString, _ text: String) throws {
        try XMLText.sanitized(text).withXMLChars { try check(xmlTextWriterWriteElement(writer, name.utf8Start, $0)) }
    }

    /// `<name>true</name>` or `<name>false</name>`.
    func element(_ name: StaticString, _ value: Bool) throws {
        try check(xmlTextWriterWriteElement(writer, name.utf8Start, (value ? Self.trueText : Self.falseText).utf8Start))
    }

    /// `<name>123</name>`.
    func element(_ name: StaticString, _ value: Int) throws {
        try check(xmlTextWriterWriteElement(writer, name.utf8Start, decimal(value)))
    }

    /// Text as the content of the element just started (after its attributes), escaped like ``element(_:_:)``.
    func text(_ value: String) throws {
        try XMLText.sanitized(value).withXMLChars { try check(xmlTextWriterWriteString(writer, $0)) }
    }

    /// `123` as the content of the element just started.
    func text(_ value: Int) throws {
        try check(xmlTextWriterWriteString(writer, decimal(value)))
    }

    /// Writes `bytes` as they are, after everything written through libxml2 so far. The element just started
    /// must have been closed by content first (``newline(_:)``); libxml2 does not see these bytes.
    func writeDirect(_ bytes: UnsafeRawBufferPointer) throws {
        try check(xmlTextWriterFlush(writer))
        if !bridge.writeThrough(bytes) { try fail() }
    }

    /// Closes every open element, writes the final line feed, flushes and frees libxml2's writer.
    /// - Throws: the sink's error, or an ``OutputError`` from libxml2.
    func finish() throws {
        try check(xmlTextWriterEndDocument(writer))
        try check(xmlTextWriterFlush(writer))
        closed = true
        xmlFreeTextWriter(writer)
        if !bridge.finish() { try fail() }
    }
}

extension String {
    /// Calls `body` with the string as a NUL-terminated UTF-8 C string for libxml2 (no copy for a native
    /// string, a copy on the stack for a small one).
    @inline(__always)
    func withXMLChars<T>(_ body: (UnsafePointer<xmlChar>) throws -> T) rethrows -> T {
        try withCString { chars in
            try chars.withMemoryRebound(to: xmlChar.self, capacity: utf8.count + 1) { try body($0) }
        }
    }
}

/// NUL-terminated UTF-8 strings in one block of memory, by position: the attribute values that repeat on
/// thousands of entries (a service's OZG-ID, a unit's key and name), converted for libxml2 once.
final class CStringTable {
    private let storage: UnsafeMutablePointer<UInt8>
    private let starts: [Int]

    /// The strings, in order; each is stored as it is (sanitize before when it is text from outside).
    init<Strings: Collection<String>>(_ strings: Strings) {
        var starts: [Int] = []
        starts.reserveCapacity(strings.count)
        var total = 0
        for string in strings {
            starts.append(total)
            total += string.utf8.count + 1
        }
        storage = .allocate(capacity: max(total, 1))
        var offset = 0
        for string in strings {
            for byte in string.utf8 {
                storage[offset] = byte
                offset += 1
            }
            storage[offset] = 0
            offset += 1
        }
        self.starts = starts
    }

    deinit { storage.deallocate() }

    /// The string at `position`.
    @inline(__always)
    subscript(position: Int) -> UnsafePointer<xmlChar> { UnsafePointer(storage + starts[position]) }
}
