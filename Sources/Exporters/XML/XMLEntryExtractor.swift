import CLibXML
import OZGCore

/// The values of one `eintrag` that the import reads (with its unit's key), with the line of each.
struct XMLEntry {
    enum Field: Int, CaseIterable {
        case region, service, status, maturity, maturityModel, planned, onlineSince, url, solution, note

        /// The fields that become record values.
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

        /// Where the value is in the XML: an attribute as `element/@name`, an element by its name.
        var elementName: String {
            switch self {
            case .region: "einheit/@regionalschluessel"
            case .service: "eintrag/@ozgId"
            case .status: "eintrag/@status"
            case .maturity: "eintrag/@reifegrad"
            case .maturityModel: "eintrag/@modell"
            case .planned: "eintrag/@geplantZum"
            case .onlineSince: "eintrag/@onlineSeit"
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
    /// Which `einheit` of the document the entry is in (0, 1, 2 … in document order).
    var unit = -1
    private var values = [String?](repeating: nil, count: Field.allCases.count)
    private var lines = [Int](repeating: 0, count: Field.allCases.count)

    mutating func reset(line: Int, unit: Int) {
        self.line = line
        self.unit = unit
        for index in values.indices { values[index] = nil }
    }

    mutating func set(_ field: Field, _ value: String, line: Int) {
        values[field.rawValue] = value
        lines[field.rawValue] = line
    }

    func value(_ field: Field) -> String? { values[field.rawValue] }
    func text(_ field: Field) -> String { values[field.rawValue] ?? "" }
    /// The line of the field's attribute or element (the entry's line when the field is absent).
    func line(_ field: Field) -> Int { values[field.rawValue] == nil ? line : lines[field.rawValue] }

    /// Whether the entry has the own record of its unit (a `status`); without one it is untracked.
    var isTracked: Bool { values[Field.status.rawValue] != nil }
}

/// Follows the reader through the document and collects each `eintrag`'s values: the attributes of the
/// `eintrag` and of its `einheit`, the text of `url`, `loesung` and `notiz`.
///
/// Element and attribute names are compared by pointer with the reader's interned names (libxml2 interns every
/// name in one dictionary), falling back to comparing the text for a name not interned.
struct XMLEntryExtractor {
    private enum Tag {
        case entries, unit, entry, field(XMLEntry.Field), other
    }

    private let reader: XMLStreamReader
    private var tags: [UnsafePointer<xmlChar>: Tag] = [:]
    private var entry = XMLEntry()
    /// Whether the reader is in `eintraege`, in an `einheit`, in an `eintrag`.
    private var inEntries = false
    private var inUnit = false
    private var inEntry = false
    /// The current unit: its number, key and line.
    private var unitNumber = -1
    private var unitKey: String?
    private var unitLine = 0
    /// The element whose text is being collected, and its line.
    private var capturing: XMLEntry.Field?
    private var captureLine = 0
    private var buffer: [UInt8] = []

    init(reader: XMLStreamReader, file: String) {
        self.reader = reader
        for (name, tag) in Self.names {
            if let pointer = reader.intern(name) { tags[pointer] = tag }
        }
    }

    private static let names: [(StaticString, Tag)] = [
        (N.eintraege, .entries), (N.einheit, .unit), (N.eintrag, .entry), (N.regionalschluessel, .field(.region)),
        (N.ozgId, .field(.service)), (N.status, .field(.status)), (N.reifegrad, .field(.maturity)),
        (N.modell, .field(.maturityModel)), (N.geplantZum, .field(.planned)), (N.onlineSeit, .field(.onlineSince)),
        (N.url, .field(.url)), (N.loesung, .field(.solution)), (N.notiz, .field(.note)),
        // Names the import passes over, listed so that they are found by pointer too.
        (N.kopf, .other), (N.auswertung, .other), (N.name, .other), (N.ebene, .other), (N.berichtseinheit, .other),
        (N.onlineEinschliesslichHoehererEbene, .other), (N.bereitgestelltDurch, .other), (N.aktualisiertAm, .other),
        (N.aktualisiertVon, .other), (N.quelle, .other),
    ]

    private func tag(_ name: UnsafePointer<xmlChar>?) -> Tag {
        guard let name else { return .other }
        if let tag = tags[name] { return tag }
        let text = String(cString: name)
        for (candidate, tag) in Self.names where candidate.description == text { return tag }
        return .other
    }

    /// Follows the current node; returns the entry when an `eintrag` ends.
    mutating func step() -> XMLEntry? {
        switch reader.nodeType {
        case Int32(XML_READER_TYPE_ELEMENT.rawValue):
            return startElement()
        case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
            Int32(XML_READER_TYPE_WHITESPACE.rawValue), Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue):
            guard capturing != nil, let value = reader.value else { return nil }
            var cursor = value
            while cursor.pointee != 0 {
                buffer.append(cursor.pointee)
                cursor += 1
            }
        case Int32(XML_READER_TYPE_END_ELEMENT.rawValue):
            switch reader.depth {
            case 4 where capturing != nil: finishCapture()
            case 3 where inEntry:
                inEntry = false
                return entry
            case 2: inUnit = false
            case 1: inEntries = false
            default: break
            }
        default:
            break
        }
        return nil
    }

    private mutating func startElement() -> XMLEntry? {
        let depth = reader.depth
        let isEmpty = reader.isEmptyElement
        switch depth {
        case 1:
            if case .entries = tag(reader.localName) { inEntries = !isEmpty }
        case 2 where inEntries:
            guard case .unit = tag(reader.localName) else { return nil }
            unitNumber += 1
            unitLine = reader.elementLine
            unitKey = nil
            inUnit = !isEmpty
            reader.forEachAttribute { name, value in
                if case .field(.region) = tag(name) { unitKey = String(cString: value) }
            }
        case 3 where inUnit:
            guard case .entry = tag(reader.localName) else { return nil }
            entry.reset(line: reader.elementLine, unit: unitNumber)
            if let unitKey { entry.set(.region, unitKey, line: unitLine) }
            let line = reader.elementLine
            reader.forEachAttribute { name, value in
                guard case .field(let field) = tag(name) else { return }
                switch field {
                case .service, .status: entry.set(field, String(cString: value), line: line)
                // The schema collapses white space in dates and numbers (" 2025-03-01 " is a valid date); the
                // record validator takes them as written, so they are trimmed here.
                case .maturity, .maturityModel, .planned, .onlineSince:
                    entry.set(field, Self.collapsed(String(cString: value)), line: line)
                case .region, .url, .solution, .note: break
                }
            }
            if isEmpty { return entry }
            inEntry = true
        case 4 where inEntry:
            guard case .field(let field) = tag(reader.localName), field == .url || field == .solution || field == .note else {
                return nil
            }
            capturing = field
            captureLine = reader.elementLine
            buffer.removeAll(keepingCapacity: true)
            if isEmpty { finishCapture() }
        default:
            break
        }
        return nil
    }

    private mutating func finishCapture() {
        guard let field = capturing else { return }
        entry.set(field, String(decoding: buffer, as: UTF8.self), line: captureLine)
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
