import CLibXML
import OZGCore

/// The values of one `eintrag` that the import reads, with the line of each.
struct XMLEntry {
    enum Field: Int, CaseIterable {
        case region, service, status, maturity, maturityModel, planned, onlineSince, url, solution, note

        /// The fields of `umsetzung` that become record values.
        static let recordFields: [Field] = [.status, .maturity, .maturityModel, .planned, .onlineSince, .url, .solution, .note]

        var recordField: RecordField? {
            switch self {
            case .region, .service: nil
            case .status: .status
            case .maturity: .maturity
            case .maturityModel: .maturityModel
            case .planned: .planned
            case .onlineSince: .onlineSince
            case .url: .url
            case .solution: .solution
            case .note: .note
            }
        }

        /// The element (or attribute) name in the XML.
        var elementName: String {
            switch self {
            case .region: "regionalschluessel"
            case .service: "ozgId"
            case .status: "status"
            case .maturity: "reifegrad"
            case .maturityModel: "reifegrad/@modell"
            case .planned: "geplantZum"
            case .onlineSince: "onlineSeit"
            case .url: "url"
            case .solution: "loesung"
            case .note: "notiz"
            }
        }

        /// The field whose CSV name (as in `RecordValidator`'s messages) is `name`.
        static func forRecordField(_ name: String?) -> Field? {
            guard let name else { return nil }
            return recordFields.first { $0.recordField?.rawValue == name }
        }
    }

    /// The line of the `eintrag` element.
    var line = 0
    var hasImplementation = false
    private var values = [String?](repeating: nil, count: Field.allCases.count)
    private var lines = [Int?](repeating: nil, count: Field.allCases.count)

    mutating func reset(line: Int) {
        self.line = line
        hasImplementation = false
        for index in values.indices {
            values[index] = nil
            lines[index] = nil
        }
    }

    mutating func set(_ field: Field, _ value: String, line: Int) {
        values[field.rawValue] = value
        lines[field.rawValue] = line
    }

    func value(_ field: Field) -> String? { values[field.rawValue] }
    func text(_ field: Field) -> String { values[field.rawValue] ?? "" }
    func line(_ field: Field) -> Int? { lines[field.rawValue] }
}

/// Follows the reader through the document and collects each `eintrag`'s values.
///
/// Element names are compared by pointer with the reader's interned names (libxml2 interns every element name
/// in one dictionary), falling back to comparing the text for a name not interned.
struct XMLEntryExtractor {
    private enum Tag {
        case entry, region, service, implementation, field(XMLEntry.Field), other
    }

    private let reader: XMLStreamReader
    private var tags: [UnsafePointer<xmlChar>: Tag] = [:]
    private var entry = XMLEntry()
    private var inEntry = false
    /// The section of the entry the reader is in (region, leistung, umsetzung).
    private var section: Tag = .other
    /// The field whose text is being collected, its start line, and whether text was seen.
    private var capturing: XMLEntry.Field?
    private var captureLine = 0
    private var captureHasText = false
    private var buffer: [UInt8] = []

    init(reader: XMLStreamReader, file: String) {
        self.reader = reader
        for (name, tag) in Self.names {
            if let pointer = reader.intern(name) { tags[pointer] = tag }
        }
    }

    private static let names: [(StaticString, Tag)] = [
        (N.eintrag, .entry), (N.region, .region), (N.leistung, .service), (N.umsetzung, .implementation),
        (N.regionalschluessel, .field(.region)), (N.ozgId, .field(.service)), (N.status, .field(.status)),
        (N.reifegrad, .field(.maturity)), (N.geplantZum, .field(.planned)), (N.onlineSeit, .field(.onlineSince)),
        (N.url, .field(.url)), (N.loesung, .field(.solution)), (N.notiz, .field(.note)),
        // Names the import passes over, listed so that they are found by pointer too.
        (N.kopf, .other), (N.eintraege, .other), (N.auswertung, .other), (N.name, .other), (N.ebene, .other),
        (N.berichtseinheit, .other), (N.bezeichnung, .other), (N.themenfeld, .other), (N.aktualisiertAm, .other),
        (N.aktualisiertVon, .other), (N.quelle, .other), (N.onlineEinschliesslichHoehererEbene, .other),
        (N.bereitgestelltDurch, .other),
    ]

    private mutating func tag(_ name: UnsafePointer<xmlChar>?) -> Tag {
        guard let name else { return .other }
        if let tag = tags[name] { return tag }
        let text = String(cString: name)
        for (candidate, tag) in Self.names where candidate.description == text { return tag }
        return .other
    }

    /// Follows the current node; returns the entry when an `eintrag` ends.
    mutating func step() -> XMLEntry? {
        let type = reader.nodeType
        switch type {
        case Int32(XML_READER_TYPE_ELEMENT.rawValue):
            let depth = reader.depth
            if depth == 2 {
                if case .entry = tag(reader.localName) {
                    inEntry = true
                    entry.reset(line: reader.nodeLine)
                    if reader.isEmptyElement {
                        inEntry = false
                        return entry
                    }
                }
                return nil
            }
            guard inEntry else { return nil }
            if depth == 3 {
                section = tag(reader.localName)
                if case .implementation = section { entry.hasImplementation = true }
                return nil
            }
            guard depth == 4, case .field(let field) = tag(reader.localName) else { return nil }
            let belongs: Bool
            switch section {
            case .region: belongs = field == .region
            case .service: belongs = field == .service
            case .implementation: belongs = field != .region && field != .service
            default: belongs = false
            }
            guard belongs else { return nil }
            if field == .maturity, let model = reader.attribute(N.modell) {
                entry.set(.maturityModel, Self.collapsed(model), line: reader.nodeLine)
            }
            capturing = field
            captureLine = reader.nodeLine
            captureHasText = false
            buffer.removeAll(keepingCapacity: true)
            if reader.isEmptyElement { finishCapture() }
        case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
            Int32(XML_READER_TYPE_WHITESPACE.rawValue), Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
            guard capturing != nil, let value = reader.value else { return nil }
            if !captureHasText {
                captureHasText = true
                captureLine = reader.nodeLine
            }
            var cursor = value
            while cursor.pointee != 0 {
                buffer.append(cursor.pointee)
                cursor += 1
            }
        case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
            let depth = reader.depth
            if depth == 4, capturing != nil {
                finishCapture()
            } else if depth == 3 {
                section = .other
            } else if depth == 2, inEntry {
                inEntry = false
                return entry
            }
        default:
            break
        }
        return nil
    }

    private mutating func finishCapture() {
        guard let field = capturing else { return }
        var text = String(decoding: buffer, as: UTF8.self)
        // The schema collapses white space in dates and numbers (" 2025-03-01 " is a valid date); the record
        // validator takes them as written, so they are trimmed here. Text, keys and the status keep theirs.
        if field == .maturity || field == .planned || field == .onlineSince { text = Self.collapsed(text) }
        entry.set(field, text, line: captureLine)
        capturing = nil
    }

    /// `text` without the XML white space (space, tab, LF, CR) around it.
    static func collapsed(_ text: String) -> String {
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(scalars[first...last])
    }
}
