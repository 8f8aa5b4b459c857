import CLibXML
import OZGCore

/// Passes libxml2's output to an `OutputSink` as it is produced.
///
/// libxml2 hands over bytes in chunks of a few kilobytes that may end inside a UTF-8 sequence; the incomplete
/// tail is kept for the next chunk so that every piece the sink receives is whole text. A sink error is kept
/// and makes the C callback fail, which makes every later libxml2 call fail; the writer then throws it.
final class SinkBridge {
    let sink: any OutputSink
    private var carry: [UInt8] = []
    /// The first error the sink threw.
    private(set) var error: (any Error)?

    init(sink: any OutputSink) { self.sink = sink }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Writes `bytes`; `false` when the sink failed (now or before).
    func write(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard error == nil else { return false }
        let text: String
        if carry.isEmpty {
            let cut = Self.completeLength(bytes)
            text = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<cut]), as: UTF8.self)
            carry.append(contentsOf: bytes[cut...])
        } else {
            carry.append(contentsOf: bytes)
            let cut = carry.withUnsafeBufferPointer { Self.completeLength($0) }
            text = String(decoding: carry[0..<cut], as: UTF8.self)
            carry.removeFirst(cut)
        }
        guard !text.isEmpty else { return true }
        do {
            try sink.write(text)
            return true
        } catch {
            self.error = error
            return false
        }
    }

    /// The length of `bytes` without a UTF-8 sequence that starts in its last three bytes and is not complete.
    static func completeLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var back = 1
        while back <= 3 && back <= bytes.count {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 != 0x80 {
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return length > back ? bytes.count - back : bytes.count
            }
            back += 1
        }
        return bytes.count
    }

    /// Writes what is left over (only an incomplete sequence, which libxml2 never leaves).
    func finish() -> Bool {
        guard error == nil, !carry.isEmpty else { return error == nil }
        let rest = String(decoding: carry, as: UTF8.self)
        carry.removeAll()
        do {
            try sink.write(rest)
            return true
        } catch {
            self.error = error
            return false
        }
    }
}

/// A thin, throwing layer over libxml2's `xmlTextWriter`, writing UTF-8 with indentation into an
/// `OutputSink`. Element and attribute names are `StaticString`s, passed to C without copying.
final class XMLStreamWriter {
    private let writer: xmlTextWriterPtr
    private let bridge: SinkBridge
    private let diagnostics: LibXMLDiagnostics
    private var closed = false

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
            throw OutputError.cannotWrite(target: "the XML report", reason: "libxml2 could not create an output buffer")
        }
        guard let writer = xmlNewTextWriter(output) else {
            xmlOutputBufferClose(output)
            throw OutputError.cannotWrite(target: "the XML report", reason: "libxml2 could not create a writer")
        }
        self.writer = writer
        xmlTextWriterSetIndent(writer, 1)
        xmlTextWriterSetIndentString(writer, Self.indent.utf8Start)
    }

    deinit {
        if !closed { xmlFreeTextWriter(writer) }
    }

    private static let indent: StaticString = "  "
    private static let trueText: StaticString = "true"
    private static let falseText: StaticString = "false"

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

    func startDocument() throws {
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil))
    }

    /// Starts the root element in `namespace` (written as the default namespace).
    func startRoot(_ name: StaticString, namespace: String) throws {
        try check(namespace.withCString { uri in
            uri.withMemoryRebound(to: xmlChar.self, capacity: namespace.utf8.count + 1) {
                xmlTextWriterStartElementNS(writer, nil, name.utf8Start, $0)
            }
        })
    }

    func start(_ name: StaticString) throws {
        try check(xmlTextWriterStartElement(writer, name.utf8Start))
    }

    func end() throws {
        try check(xmlTextWriterEndElement(writer))
    }

    /// `<name>text</name>`; the text is escaped by libxml2 (`&lt;`, `&amp;`, `&gt;`, CR as `&#13;`) after
    /// characters XML forbids are replaced (``XMLText/sanitized(_:)``).
    func element(_ name: StaticString, _ text: String) throws {
        let clean = XMLText.sanitized(text)
        try check(clean.withCString { content in
            content.withMemoryRebound(to: xmlChar.self, capacity: clean.utf8.count + 1) {
                xmlTextWriterWriteElement(writer, name.utf8Start, $0)
            }
        })
    }

    /// `<name>text</name>` for a constant that needs no escaping (`true`, `false`).
    func element(_ name: StaticString, plain text: StaticString) throws {
        try check(xmlTextWriterStartElement(writer, name.utf8Start))
        try check(xmlTextWriterWriteRaw(writer, text.utf8Start))
        try check(xmlTextWriterEndElement(writer))
    }

    func element(_ name: StaticString, _ value: Int) throws {
        try element(name, token: String(value))
    }

    func element(_ name: StaticString, _ value: Bool) throws {
        try element(name, plain: value ? Self.trueText : Self.falseText)
    }

    /// `<name>text</name>` for short ASCII values (numbers, keys, dates, enumeration values): written without
    /// libxml2's escaping pass when they contain nothing to escape, which is checked here, escaped otherwise.
    func element(_ name: StaticString, token text: String) throws {
        guard Self.isPlain(text) else { return try element(name, text) }
        try check(xmlTextWriterStartElement(writer, name.utf8Start))
        try check(text.withCString { content in
            content.withMemoryRebound(to: xmlChar.self, capacity: text.utf8.count + 1) { xmlTextWriterWriteRaw(writer, $0) }
        })
        try check(xmlTextWriterEndElement(writer))
    }

    /// Whether `text` is printable ASCII without `<`, `>`, `&` and quotes (nothing to escape or replace).
    private static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x3C && $0 != 0x3E && $0 != 0x26 && $0 != 0x22 && $0 != 0x27 }
    }

    /// `name="value"` on the element just started; the value is escaped by libxml2 (including tab, line feed
    /// and carriage return, which survive attribute normalisation so).
    func attribute(_ name: StaticString, _ value: String) throws {
        let clean = XMLText.sanitized(value)
        try check(clean.withCString { content in
            content.withMemoryRebound(to: xmlChar.self, capacity: clean.utf8.count + 1) {
                xmlTextWriterWriteAttribute(writer, name.utf8Start, $0)
            }
        })
    }

    func attribute(_ name: StaticString, _ value: Int) throws {
        try attribute(name, String(value))
    }

    /// `text` as the content of the element just started (after its attributes).
    func text(_ value: String) throws {
        let clean = XMLText.sanitized(value)
        try check(clean.withCString { content in
            content.withMemoryRebound(to: xmlChar.self, capacity: clean.utf8.count + 1) {
                xmlTextWriterWriteString(writer, $0)
            }
        })
    }

    /// Closes every open element, flushes and frees libxml2's writer.
    /// - Throws: the sink's error, or an ``OutputError`` from libxml2.
    func finish() throws {
        try check(xmlTextWriterEndDocument(writer))
        try check(xmlTextWriterFlush(writer))
        closed = true
        xmlFreeTextWriter(writer)
        if !bridge.finish() { try fail() }
        if let error = bridge.error { throw error }
    }
}
