import Foundation
import OZGCore
import Testing

@testable import Exporters

@Suite("XML import security: what is refused, and how")
struct XMLSecurityTests {
    @Test(
        "documents with a DOCTYPE are refused before parsing, with file and line",
        arguments: [
            ("doctype.xml", 2),  // a plain DOCTYPE, no declarations
            ("external-entity.xml", 2),  // <!ENTITY x SYSTEM "file:///etc/passwd">
            ("billion-laughs.xml", 3),  // nested entities that would expand to 10^9 "lol"s
            ("external-dtd.xml", 3),  // a DTD fetched from the network, after a byte-order mark and a comment
        ])
    func doctype(_ name: String, _ line: Int) throws {
        let path = fixture(name)
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error?.file == path)
        #expect(error?.line == line)
        #expect(error?.message == "the document contains a DOCTYPE: expected none — DTDs and entities are not accepted")
    }

    @Test("the validator refuses a DOCTYPE the same way, as the only issue")
    func doctypeInValidator() throws {
        let result = try XMLSchemaValidator().validate(file: fixture("external-entity.xml"))
        #expect(result.total == 1)
        #expect(result.issues.first?.line == 2)
        #expect(result.issues.first?.message.contains("contains a DOCTYPE") == true)
    }

    @Test(
        "a DOCTYPE is found however the prolog is written",
        arguments: [
            "<!DOCTYPE x>\n<x/>", "<?xml version=\"1.0\"?><!DOCTYPE x><x/>", "\u{FEFF}<!DOCTYPE x><x/>",
            "<!-- <x/> -->\n<?pi <x/> ?>\n<!DOCTYPE x><x/>", "   \n\t<!doctype x><x/>",
        ])
    func doctypeVariants(_ text: String) throws {
        let result = try XMLSchemaValidator().validate(string: text)
        #expect(result.issues.map(\.message) == ["the document contains a DOCTYPE: expected none — DTDs and entities are not accepted"])
    }

    @Test("XInclude is not processed: an xi:include element is just an element the schema does not allow")
    func xinclude() throws {
        let path = fixture("xinclude.xml")
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(rows.isEmpty)
        #expect(errors == [
            InputError(
                file: path, line: 38, field: "{http://www.w3.org/2001/XInclude}include", message: "unexpected element here: expected einheit")
        ])
    }

    @Test("an entity reference without a DTD is not well-formed")
    func undeclaredEntity() throws {
        let db = try XMLTestDatabase()
        let path = try db.file("entity.xml", "<?xml version=\"1.0\"?>\n<umsetzungsbericht xmlns=\"urn:ozgtrack:umsetzungsbericht:1\" version=\"1\">\n&passwd;</umsetzungsbericht>\n")
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error?.file == path)
        #expect(error?.line == 3)
        #expect(error?.message == "Entity 'passwd' not defined: expected well-formed XML")
    }

    @Test("XML that is not well-formed is refused with file and line")
    func notWellFormed() throws {
        let path = fixture("not-well-formed.xml")
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error?.file == path)
        #expect(error?.line == 44)
        #expect(error?.message == "Opening and ending tag mismatch: notiz line 42 and eintrag: expected well-formed XML")
    }

    @Test("every schema violation is reported with file, line, element, value and what was expected; no row is produced")
    func schemaViolations() throws {
        let path = fixture("schema-violations.xml")
        let (rows, errors) = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        #expect(rows.isEmpty)
        #expect(errors == [
            InputError(
                file: path, line: 39, field: "eintrag/@status",
                message: "'fertig' is not a status: expected one of not_started, planned, in_progress, online, not_applicable"),
            InputError(file: path, line: 41, field: "anbieter", message: "unexpected element here: expected one of loesung, notiz"),
            InputError(file: path, line: 45, field: "eintrag/@ozgId", message: "'1001' is not an OZG-ID: expected 5 digits"),
        ])
        let db = try XMLTestDatabase()
        let refused = #expect(throws: InputErrors.self) { try db.importXML([path]) }
        #expect(refused?.errors.allSatisfy { $0.file == path && $0.line != nil } == true)
        #expect(try db.record("08115003", "10000") == nil)
    }

    @Test(
        "UTF-16 input and encodings other than UTF-8 are refused",
        arguments: [(String.Encoding.utf16, "is UTF-16 or UTF-32 encoded: expected UTF-8"), (.utf16BigEndian, "is UTF-16 or UTF-32 encoded: expected UTF-8")])
    func utf16(_ encoding: String.Encoding, _ message: String) throws {
        let db = try XMLTestDatabase()
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
        let path = db.directory.appendingPathComponent("utf16.xml").path
        try #require(text.data(using: encoding)).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error == InputError(file: path, line: 1, message: message))
    }

    @Test("a declared encoding other than UTF-8 is refused rather than misread")
    func latin1() throws {
        let path = fixture("latin1.xml")
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error == InputError(file: path, line: 1, field: "encoding", message: "'ISO-8859-1' is declared as the encoding: expected UTF-8"))
    }

    @Test("bytes that are not UTF-8 are refused with their line")
    func invalidUTF8() throws {
        let db = try XMLTestDatabase()
        var bytes = Array(try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8).utf8)
        let offset = try #require(bytes.firstRange(of: Array("Zeile 1".utf8))?.lowerBound)
        bytes[offset] = 0xFC  // 'ü' in Latin-1
        let path = db.directory.appendingPathComponent("latin1-bytes.xml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(error?.file == path)
        #expect(error?.line == 42)
        #expect(error?.message.contains("not proper UTF-8") == true)
    }

    @Test("input over the size limit is refused, from a file and from a stream")
    func tooLarge() throws {
        let path = fixture("gemeinde-report.xml")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn), maxBytes: 1_000))
        }
        #expect(error == InputError(file: path, message: "is \(size) bytes long: expected at most 1000 bytes of XML"))

        let text = try String(contentsOfFile: path, encoding: .utf8)
        let streamed = try XMLSchemaValidator(maxBytes: 1_000).validate(string: text, name: "<stdin>")
        #expect(streamed.issues.map(\.description) == ["<stdin>: is longer than 1000 bytes: expected at most 1000 bytes of XML"])
        #expect(XMLInputLimits.maxBytes == 16 << 30)
    }

    @Test("empty input and input without an element are refused")
    func empty() throws {
        let empty = try XMLSchemaValidator().validate(string: "")
        #expect(empty.issues.map(\.message) == ["is empty: expected an XML document with the root element umsetzungsbericht"])
        let comment = try XMLSchemaValidator().validate(string: "<?xml version=\"1.0\"?>\n<!-- nothing -->\n")
        #expect(comment.issues.map(\.message) == ["contains no element: expected an XML document with the root element umsetzungsbericht"])
    }
}

/// libxml2 must not print: every problem reaches ozgtrack's handlers. Standard error is redirected to a file
/// while hostile inputs are read.
@Suite("XML diagnostics stay silent")
struct XMLSilenceTests {
    @Test("reading hostile, broken and invalid XML writes nothing to standard error")
    func nothingOnStandardError() throws {
        let db = try XMLTestDatabase()
        let capture = db.directory.appendingPathComponent("stderr.txt").path
        let saved = dup(2)
        let target = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(saved >= 0 && target >= 0)
        fflush(nil)
        dup2(target, 2)
        close(target)
        let files = [
            "doctype.xml", "external-entity.xml", "billion-laughs.xml", "external-dtd.xml", "latin1.xml", "not-well-formed.xml",
            "schema-violations.xml", "xinclude.xml", "unknown-keys.xml",
        ]
        for name in files {
            _ = try? readAll(XMLRecordSource(path: fixture(name), validator: RecordValidator(catalogue: builtIn)))
            _ = try? XMLSchemaValidator().validate(file: fixture(name))
        }
        _ = try? XMLSchemaValidator().validate(string: "<a><b></a>&x;\u{0}")
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        // The test runner itself may write its progress there; libxml2's own lines look like
        // "file:3: parser error : …" or "… Schemas validity error : …".
        let written = try String(contentsOfFile: capture, encoding: .utf8)
        let libxml2Lines = written.split(separator: "\n").filter { $0.contains(" error : ") || $0.contains(" warning : ") }
        #expect(libxml2Lines == [])
    }
}

@Suite("XML import security: elements with very many attributes")
struct XMLAttributeLimitTests {
    /// A start tag with `count` attributes.
    static func tag(_ count: Int) -> String {
        "<eintrag " + (0..<count).map { "a\($0)=\"\"" }.joined(separator: " ") + "/>"
    }

    @Test("an element with more attributes than the limit is refused before libxml2 parses it")
    func refused() throws {
        let db = try XMLTestDatabase()
        let text = try String(contentsOfFile: fixture("gemeinde-report.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<eintraege>", with: "<eintraege>\n" + Self.tag(100_000))
        let path = try db.file("attributes.xml", text)
        let start = ContinuousClock.now
        let error = #expect(throws: InputError.self) {
            try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(error == InputError(
            file: path, line: 38,
            message: "an element has more than 64 attributes: expected at most 64 (ozgtrack's elements have at most eleven)"))
    }

    /// Inputs and whether the guard refuses them.
    static let inputs: [(text: String, refused: Bool)] = {
        let many = String(repeating: "x=1 ", count: 200)
        let manyQuoted = String(repeating: "x=\"1\" ", count: 200)
        var cases: [(String, Bool)] = []
        cases.append((tag(64), false))
        cases.append((tag(65), true))
        cases.append(("<a>" + many + "</a>", false))  // text
        cases.append(("<a b=\"" + many + "\"/>", false))  // a quoted value
        cases.append(("<a b='" + manyQuoted + "'/>", false))  // double quotes within single quotes
        cases.append(("<!--" + many + "-->" + tag(3), false))  // a comment
        cases.append(("<a><![CDATA[<b " + manyQuoted + ">]]></a>", false))  // CDATA
        cases.append(("<?pi " + many + "?>" + tag(3), false))  // a processing instruction
        cases.append(("<!-- -- -->" + tag(65), true))
        cases.append(("<a><![CDATA[]]]]>" + tag(65) + "</a>", true))
        return cases
    }()

    @Test("the limit counts attributes of tags only, across chunk boundaries", arguments: inputs.indices)
    func counting(_ index: Int) {
        let (text, refused) = Self.inputs[index]
        let bytes = Array(text.utf8)
        for chunk in [1, 2, 3, 7, 4096] {
            var guardian = XMLMarkupGuard()
            var found: Int?
            var start = 0
            while start < bytes.count, found == nil {
                let end = min(start + chunk, bytes.count)
                found = bytes[start..<end].withUnsafeBytes { guardian.scan($0) }
                start = end
            }
            #expect((found != nil) == refused, "chunks of \(chunk)")
        }
    }
}
