import Foundation
import OZGCore
import Testing

@testable import Exporters

/// The entries of an XML report are written as bytes past libxml2 (``ByteWriter/appendXMLAttribute(_:)``,
/// ``ByteWriter/appendXMLText(_:)``); these must be exactly what libxml2 writes for the same value.
@Suite("XML escaping written past libxml2 equals libxml2's")
struct XMLEscapingTests {
    static let values = [
        "", "Aidlingen", "Größe ä ö ü ß € 😀", "a & b", "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
        "'single' \"double\"", "tab\there", "line\nfeed", "carriage\rreturn", "crlf\r\n", "nul\u{0}and\u{1B}[31mescape",
        "bell\u{7}", "\u{1F}unit separator", "noncharacters \u{FFFE} \u{FFFF} end\u{FFFF}", "replacement \u{FFFD}",
        "&amp; already escaped", "]]> cdata end", "<<>>&&\"\"", "\u{2028}\u{2029}", "trailing \u{FFFE}",
        String(repeating: "long value with & and < ", count: 20),
    ]

    /// What libxml2 writes for `<r a="VALUE">VALUE</r>` through ``XMLStreamWriter``, and the same built with the
    /// byte writer.
    private func both(_ value: String) throws -> (libxml: String, bytes: String) {
        let sink = StringSink()
        let diagnostics = LibXMLDiagnostics()
        try LibXMLErrorScope.run(diagnostics) {
            let writer = try XMLStreamWriter(sink: sink, diagnostics: diagnostics)
            try writer.startDocument()
            try writer.start("r")
            try writer.attribute("a", value)
            try writer.text(value)
            try writer.end()
            try writer.finish()
        }
        let bytes = ByteWriter.text { out in
            out.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r a=\"")
            out.appendXMLAttribute(value)
            out.append("\">")
            out.appendXMLText(value)
            out.append("</r>\n")
        }
        return (sink.text, bytes)
    }

    @Test("attribute values and text", arguments: values)
    func sameAsLibXML(_ value: String) throws {
        let (libxml, bytes) = try both(value)
        #expect(bytes == libxml)
    }

    @Test("every single character below U+0080")
    func everyASCIICharacter() throws {
        for scalar in (0..<0x80).compactMap(Unicode.Scalar.init) {
            let value = "x\(Character(scalar))y"
            let (libxml, bytes) = try both(value)
            #expect(bytes == libxml, "U+\(String(scalar.value, radix: 16))")
        }
    }
}
