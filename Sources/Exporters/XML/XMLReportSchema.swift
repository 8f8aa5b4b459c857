import CLibXML
public import OZGCore

/// The XML Schema of ozgtrack's XML report (`ozgtrack-report-1.xsd`), embedded into the module at build time.
///
/// One versioned namespace, ``namespace``; an incompatible change gets a new namespace (`…:2`) and a new file,
/// and version 1 stays valid as it is. See `docs/xml-schema.md`.
public enum XMLReportSchema {
    /// `urn:ozgtrack:umsetzungsbericht:1`.
    public static let namespace = "urn:ozgtrack:umsetzungsbericht:1"
    /// The value of the root element's `version` attribute: `1`.
    public static let version = "1"
    /// The schema's file name, as the CLI offers it for saving: `ozgtrack-report-1.xsd`.
    public static let fileName = "ozgtrack-report-1.xsd"

    /// The schema's text (UTF-8), for `ozgtrack validate --print-schema` and the like.
    public static var text: String {
        guard let data = embedded else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data.utf8Start, count: data.utf8CodeUnitCount), as: UTF8.self)
    }

    static var embedded: StaticString? { EmbeddedData.files["Sources/Exporters/XML/ozgtrack-report-1.xsd"] }

    /// Compiles the embedded schema for one use (a compiled schema is not shared between threads).
    /// - Throws: an ``XMLSchemaError`` when the embedded schema is missing or does not compile (a build problem,
    ///   never the user's input).
    static func compile() throws(XMLSchemaError) -> CompiledXMLSchema {
        guard let data = embedded, data.utf8CodeUnitCount > 0 else {
            throw XMLSchemaError(message: "the embedded schema \(fileName) is empty: expected the schema text (a build problem)")
        }
        let diagnostics = LibXMLDiagnostics()
        return try LibXMLErrorScope.run(diagnostics) { () throws(XMLSchemaError) -> CompiledXMLSchema in
            let parsed: xmlSchemaPtr? = data.withUTF8Buffer { buffer -> xmlSchemaPtr? in
                buffer.withMemoryRebound(to: CChar.self) { chars -> xmlSchemaPtr? in
                    guard let context = xmlSchemaNewMemParserCtxt(chars.baseAddress, Int32(chars.count)) else { return nil }
                    defer { xmlSchemaFreeParserCtxt(context) }
                    xmlSchemaSetParserStructuredErrors(context, libXMLStructuredErrorHandler, diagnostics.opaque)
                    return xmlSchemaParse(context)
                }
            }
            guard let parsed else {
                let detail = diagnostics.problems.first.map { ": line \($0.line): \($0.message)" } ?? ""
                throw XMLSchemaError(message: "the embedded schema \(fileName) does not compile\(detail) (a build problem)")
            }
            return CompiledXMLSchema(schema: parsed)
        }
    }
}

/// The embedded schema could not be used: a defect of the build, not of the input.
public struct XMLSchemaError: DescribedError {
    /// What is wrong with the embedded schema.
    public var message: String
    /// The message.
    public var description: String { message }
}

/// A compiled schema, freed with its owner.
final class CompiledXMLSchema {
    let schema: xmlSchemaPtr

    init(schema: xmlSchemaPtr) { self.schema = schema }

    deinit { xmlSchemaFree(schema) }
}
