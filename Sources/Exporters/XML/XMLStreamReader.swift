import CLibXML
import OZGCore

/// A safe, streaming pass over an XML input with libxml2's `xmlTextReader`, validating against the embedded
/// schema as it reads.
///
/// Safety: the input is refused before parsing if it has a DOCTYPE (``XMLInputStream``); the parser runs
/// without network access (`XML_PARSE_NONET`), without loading DTDs and without substituting entities (neither
/// `XML_PARSE_DTDLOAD` nor `XML_PARSE_NOENT`), and within libxml2's default limits (no `XML_PARSE_HUGE`). Every
/// problem goes to a ``LibXMLDiagnostics``; libxml2 prints nothing.
final class XMLStreamReader {
    let input: XMLInputStream
    let diagnostics: LibXMLDiagnostics
    private let reader: xmlTextReaderPtr
    private let schema: CompiledXMLSchema
    private let validation: xmlSchemaValidCtxtPtr
    private var finished = false
    /// The problems reported before the one that ended reading (see ``next()``), not yet taken.
    private(set) var problemsBeforeFailure: [LibXMLProblem] = []
    /// The line where the start tag of the current element (or of the last element reached) begins: exact at
    /// any size, counted on the bytes given to libxml2 (see ``XMLMarkupGuard``).
    private(set) var elementLine = 0

    /// The parser options: no network, exact line numbers beyond 65535. Never NOENT, DTDLOAD, DTDATTR,
    /// DTDVALID, XINCLUDE or HUGE. Not NOCDATA either: with schema validation plugged into the reader, libxml2
    /// 2.9 drops the content of CDATA sections under that option; CDATA nodes are read as text instead.
    static let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)

    /// - Throws: ``XMLSchemaError`` if the embedded schema is broken, `InputError` if libxml2 cannot start.
    init(input: XMLInputStream, diagnostics: LibXMLDiagnostics) throws {
        self.input = input
        self.diagnostics = diagnostics
        schema = try XMLReportSchema.compile()
        guard let validation = xmlSchemaNewValidCtxt(schema.schema) else {
            throw InputError(file: input.file, message: "cannot be validated: libxml2 could not create a validation context")
        }
        self.validation = validation
        let read: xmlInputReadCallback = { context, buffer, length in
            guard let context, let buffer, length > 0 else { return length == 0 ? 0 : -1 }
            return Unmanaged<XMLInputStream>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: Int(length))
        }
        let close: xmlInputCloseCallback = { _ in 0 }
        guard let reader = xmlReaderForIO(read, close, input.opaque, input.file, nil, Self.options) else {
            xmlSchemaFreeValidCtxt(validation)
            throw input.failure ?? InputError(file: input.file, message: "cannot be read: libxml2 could not create a reader")
        }
        self.reader = reader
        xmlTextReaderSetStructuredErrorHandler(reader, libXMLStructuredErrorHandler, diagnostics.opaque)
        xmlSchemaSetValidStructuredErrors(validation, libXMLStructuredErrorHandler, diagnostics.opaque)
        guard xmlTextReaderSchemaValidateCtxt(reader, validation, 0) == 0 else {
            xmlFreeTextReader(reader)
            xmlSchemaFreeValidCtxt(validation)
            throw InputError(file: input.file, message: "cannot be validated: libxml2 could not attach the schema")
        }
        // Validity errors are raised while the parser reads ahead of the current node: the parser's position
        // at that moment is where the offending markup is.
        diagnostics.position = { [unowned(unsafe) self] in
            (Int(xmlTextReaderGetParserLineNumber(self.reader)), Int(xmlTextReaderGetParserColumnNumber(self.reader)))
        }
    }

    deinit {
        diagnostics.position = nil
        xmlFreeTextReader(reader)
        xmlSchemaFreeValidCtxt(validation)
        input.closeInput()
    }

    /// Moves to the next node; `false` at the end of the document.
    /// - Throws: `InputError` with file and line when the input is refused (DOCTYPE, size, encoding) or is not
    ///   well-formed; reading cannot go on then.
    func next() throws(InputError) -> Bool {
        guard !finished else { return false }
        let result = xmlTextReaderRead(reader)
        if result == 1 {
            let type = nodeType
            if type == Int32(XML_READER_TYPE_ELEMENT.rawValue) {
                elementLine = input.takeStartLine() ?? nodeLine
                return true
            }
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) || type == Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue)
                || type == Int32(XML_READER_TYPE_ENTITY.rawValue)
            {
                finished = true
                throw InputError(file: input.file, line: nodeLine, message: XMLProlog.doctypeMessage)
            }
            return true
        }
        finished = true
        if let failure = input.failure {
            // libxml2's own report of the failed read is left out: the refusal says why.
            problemsBeforeFailure = diagnostics.take().filter(\.isValidity)
            throw failure
        }
        if result == 0 { return false }
        // libxml2 may go on reporting after the first fatal error; that first one is the cause.
        let problems = diagnostics.take()
        let cause = problems.firstIndex { $0.isFatal } ?? problems.firstIndex { !$0.isWarning && !$0.isValidity }
        problemsBeforeFailure = cause.map { Array(problems[..<$0]) } ?? problems
        if let cause {
            let fatal = problems[cause]
            throw InputError(
                file: input.file, line: fatal.line > 0 ? fatal.line : nil,
                message: "\(fatal.message.displayed(limit: 300)): expected well-formed XML")
        }
        throw InputError(file: input.file, message: "cannot be read to the end: expected well-formed XML")
    }

    var nodeType: Int32 { xmlTextReaderNodeType(reader) }
    var depth: Int32 { xmlTextReaderDepth(reader) }
    var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(reader) == 1 }
    /// The current node's local name (interned: equal names are usually the same pointer, see ``intern(_:)``).
    var localName: UnsafePointer<xmlChar>? { xmlTextReaderConstLocalName(reader) }
    /// The text of a text node.
    var value: UnsafePointer<xmlChar>? { xmlTextReaderConstValue(reader) }

    /// The line of the current node: exact for text at any size (with `XML_PARSE_BIG_LINES`) and for elements
    /// up to line 65535, where libxml2 stops counting element lines.
    var nodeLine: Int {
        guard let node = xmlTextReaderCurrentNode(reader) else { return Int(xmlTextReaderGetParserLineNumber(reader)) }
        let line = xmlGetLineNo(node)
        return line > 0 ? line : Int(xmlTextReaderGetParserLineNumber(reader))
    }

    /// Calls `body` with the local name and the value of every attribute of the current element that is in no
    /// namespace (so not with namespace declarations), in document order, then returns to the element. The
    /// pointers are valid during the call only; names are interned (see ``intern(_:)``).
    func forEachAttribute(_ body: (UnsafePointer<xmlChar>, UnsafePointer<xmlChar>) -> Void) {
        guard xmlTextReaderHasAttributes(reader) == 1 else { return }
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            guard xmlTextReaderConstNamespaceUri(reader) == nil, let name = xmlTextReaderConstLocalName(reader),
                let value = xmlTextReaderConstValue(reader)
            else { continue }
            body(name, value)
        }
        xmlTextReaderMoveToElement(reader)
    }

    /// `name` in the reader's dictionary, the pointer that element names equal to it usually have.
    func intern(_ name: StaticString) -> UnsafePointer<xmlChar>? {
        xmlTextReaderConstString(reader, name.utf8Start)
    }
}
