import OZGCore

/// XML text and attribute values written straight into a ``ByteWriter``, byte for byte as libxml2 writes them
/// through ``XMLStreamWriter`` after ``XMLText/sanitized(_:)`` — for the entries of a report (six million at
/// national scale), where a call into libxml2 per attribute cost more than the formatting itself.
///
/// libxml2 (2.9, `xmlTextWriter`) escapes in attribute values `&`, `<`, `>`, `"` and tab, line feed and carriage
/// return (`&#9;`, `&#10;`, `&#13;`), and in text `&`, `<`, `>`, `"` and carriage return; characters outside ASCII
/// stay as they are (the document is declared UTF-8). Characters XML 1.0 forbids (C0 controls other than tab,
/// line feed and carriage return; U+FFFE, U+FFFF) become U+FFFD first. `XMLEscapingTests` compares both ways on
/// hostile values.
extension ByteWriter {
    /// Appends `value` as the content of an attribute value (without the quotes).
    mutating func appendXMLAttribute(_ value: String) { appendXML(value, attribute: true) }

    /// Appends `value` as element text.
    mutating func appendXMLText(_ value: String) { appendXML(value, attribute: false) }

    private mutating func appendXML(_ value: String, attribute: Bool) {
        var copy = value
        copy.withUTF8 { bytes in
            let count = bytes.count
            var plain = 0
            var index = 0
            while index < count {
                let byte = bytes[index]
                // Letters, digits above '>' and every UTF-8 byte but the lead of U+FFFE/U+FFFF: copied as a run.
                if byte > 0x3E && byte != 0xEF {
                    index += 1
                    continue
                }
                let replacement: StaticString
                var width = 1
                switch byte {
                case 0x26: replacement = "&amp;"
                case 0x3C: replacement = "&lt;"
                case 0x3E: replacement = "&gt;"
                case 0x22: replacement = "&quot;"
                case 0x0D: replacement = "&#13;"
                case 0x0A where attribute: replacement = "&#10;"
                case 0x09 where attribute: replacement = "&#9;"
                case 0x0A, 0x09:
                    index += 1
                    continue
                case 0xEF where index + 2 < count && bytes[index + 1] == 0xBF && bytes[index + 2] & 0xFE == 0xBE:
                    replacement = "\u{FFFD}"
                    width = 3
                case 0x00..<0x20: replacement = "\u{FFFD}"
                default:
                    index += 1
                    continue
                }
                if index > plain { append(UnsafeBufferPointer(rebasing: bytes[plain..<index])) }
                append(replacement)
                index += width
                plain = index
            }
            if count > plain { append(UnsafeBufferPointer(rebasing: bytes[plain..<count])) }
        }
    }
}

/// Bytes written past libxml2 into the same output, in order: what libxml2 holds is flushed first.
final class XMLDirectSink: OutputSink {
    private let writer: XMLStreamWriter

    init(_ writer: XMLStreamWriter) { self.writer = writer }

    func write(bytes: UnsafeRawBufferPointer) throws { try writer.writeDirect(bytes) }

    func write(_ text: String) throws {
        var copy = text
        try copy.withUTF8 { try writer.writeDirect(UnsafeRawBufferPointer($0)) }
    }
}
