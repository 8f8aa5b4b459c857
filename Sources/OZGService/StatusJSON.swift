import Foundation
import NIOCore
import OZGCore

/// The status document of one unit (`GET status/{region}`), written from bytes: exactly the bytes of
/// `JSON.encode(StatusListing(view, catalogue:))`, the command-line tool's `status --format json` (keys sorted,
/// indented by two spaces, `" : "` between key and value, absent optional values left out, slashes unescaped).
///
/// Hand-written because of a measurement: a Gemeinde's document lists all 557 services, about 260 KB, and
/// building the `Encodable` listing and encoding it with `JSONEncoder` cost about 10 ms of CPU per request in
/// release — at most about 170 distinct documents per second on two cores against a target of 2,000
/// (docs/performance.md, "The service"). Here each service's fixed lines (name, OZG-ID, Themenfeld) are encoded
/// once per catalogue, a batch's provenance lines once per document, and only the record values per row. The rows,
/// their `via` and the counts still come from the library's ``StatusView``: no rule of the listing is made here.
/// The tests compare the service's documents with the CLI's byte for byte (strings that need escaping included).
struct StatusJSON: Sendable {
    /// One service's fixed lines.
    private struct ServiceLines: Sendable {
        /// `    {` through the OZG-ID line (no comma, no line end).
        var head: [UInt8]
        /// `,` line end, and the Themenfeld line (no line end).
        var tail: [UInt8]
        /// The record's `ozgID` line, line end included.
        var recordID: [UInt8]
    }

    private let lines: [OZGID: ServiceLines]
    /// By status code: the record's `status` and `statusGerman` lines, line ends included.
    private let statusLines: [[UInt8]]
    /// The statuses in the order `byStatus` lists them (its keys sorted).
    private let byStatusOrder: [Status]

    init(catalogue: Catalogue) {
        var lines: [OZGID: ServiceLines] = [:]
        for service in catalogue.services.services {
            var head = JSONBytes()
            head.append("    {\n      \"municipal\" : ")
            head.append(service.isMunicipal ? "true" : "false")
            head.append(",\n      \"name\" : ")
            head.string(service.name)
            head.append(",\n      \"ozgID\" : ")
            head.string(service.id.description)
            var tail = JSONBytes()
            tail.append(",\n      \"themenfeld\" : ")
            tail.append(String(service.themenfeld))
            var recordID = JSONBytes()
            recordID.append("        \"ozgID\" : ")
            recordID.string(service.id.description)
            recordID.append(",\n")
            lines[service.id] = ServiceLines(head: head.bytes, tail: tail.bytes, recordID: recordID.bytes)
        }
        self.lines = lines
        statusLines = Status.allCases.sorted { $0.code < $1.code }.map { status in
            var bytes = JSONBytes()
            bytes.append("        \"status\" : ")
            bytes.string(status.rawValue)
            bytes.append(",\n        \"statusGerman\" : ")
            bytes.string(status.german)
            bytes.append(",\n")
            return bytes.bytes
        }
        byStatusOrder = Status.allCases.sorted { Array($0.rawValue.utf8).lexicographicallyPrecedes(Array($1.rawValue.utf8)) }
    }

    /// The document of `view`, with the line end the command-line tool prints after it; `nil` when the view has
    /// no rows (JSONEncoder writes an empty array its own way: the caller encodes the listing instead) or a
    /// service the catalogue given at `init` does not have.
    func document(_ view: StatusView) -> ByteBuffer? {
        guard !view.rows.isEmpty else { return nil }
        var out = ByteBufferAllocator().buffer(capacity: 512 * view.rows.count + 2048)
        out.writeStaticString("{\n")
        if let asOf = view.asOf {
            out.writeStaticString("  \"asOf\" : ")
            out.writeJSONString(Timestamp.string(asOf))
            out.writeStaticString(",\n")
        }
        writeCounts(view.counts, to: &out)
        writeRegion(view.region, to: &out)
        out.writeStaticString("  \"services\" : [\n")
        var provenance = Provenance()
        for (index, row) in view.rows.enumerated() {
            guard let service = lines[row.service.id] else { return nil }
            if index > 0 { out.writeStaticString(",\n") }
            out.writeBytes(service.head)
            if let record = row.record { writeRecord(record, id: service.recordID, provenance: &provenance, to: &out) }
            out.writeBytes(service.tail)
            if let via = row.via {
                out.writeStaticString(",\n      \"via\" : ")
                out.writeJSONString(via.description)
            }
            out.writeStaticString("\n    }")
        }
        out.writeStaticString("\n  ]\n}\n")
        return out
    }

    private func writeCounts(_ counts: ServiceCounts, to out: inout ByteBuffer) {
        out.writeStaticString("  \"counts\" : {\n    \"byStatus\" : {\n")
        for (index, status) in byStatusOrder.enumerated() {
            out.writeStaticString("      ")
            out.writeJSONString(status.rawValue)
            out.writeStaticString(" : ")
            out.writeString(String(counts.count(status)))
            out.writeStaticString(index == byStatusOrder.count - 1 ? "\n" : ",\n")
        }
        out.writeStaticString("    },\n")
        let members: [(String, String)] = [
            ("maturityAtLeast3", String(counts.maturityAtLeast3)), ("maturityModel2", String(counts.maturityModel2)),
            ("notApplicable", String(counts.notApplicable)), ("online", String(counts.online)),
            ("onlineIncludingHigherLevel", String(counts.onlineIncludingHigherLevel)), ("relevant", String(counts.relevant)),
            ("services", String(counts.services)), ("shareMaturityAtLeast3", Self.number(counts.shareMaturityAtLeast3)),
            ("shareOnline", Self.number(counts.shareOnline)),
            ("shareOnlineIncludingHigherLevel", Self.number(counts.shareOnlineIncludingHigherLevel)),
            ("tracked", String(counts.tracked)),
        ]
        Self.writeMembers(members, indent: "    ", to: &out)
        out.writeStaticString("  },\n")
    }

    private func writeRegion(_ region: Region, to out: inout ByteBuffer) {
        // RegionItem's members, sorted; absent optional values are left out as JSONEncoder leaves them out.
        var members: [(String, String)] = [("areaHectares", String(region.areaHectares))]
        if let ars = region.ars { members.append(("ars", Self.quoted(ars))) }
        members.append(("key", Self.quoted(region.key.description)))
        members.append(("kind", Self.quoted(region.kind)))
        members.append(("level", Self.quoted(region.level.rawValue)))
        members.append(("name", Self.quoted(region.name)))
        if let parent = region.parent { members.append(("parent", Self.quoted(parent.description))) }
        members.append(("population", String(region.population)))
        if let postcode = region.postcode { members.append(("postcode", Self.quoted(postcode))) }
        if let textCode = region.textCode { members.append(("textCode", String(textCode))) }
        if let verband = region.verband { members.append(("verband", Self.quoted(verband.description))) }
        out.writeStaticString("  \"region\" : {\n")
        Self.writeMembers(members, indent: "    ", to: &out)
        out.writeStaticString("  },\n")
    }

    /// The provenance lines of the batch the last record came from: records of one unit mostly share a batch.
    private struct Provenance {
        var at: Date?
        var actor = ""
        var source = ""
        /// The `source` line, line end included.
        var sourceLine: [UInt8] = []
        /// The `updatedAt` and `updatedBy` lines (no line end after the last).
        var updateLines: [UInt8] = []

        mutating func update(_ record: StoredRecord) {
            if at == record.updatedAt && actor == record.updatedBy && source == record.source { return }
            at = record.updatedAt
            actor = record.updatedBy
            source = record.source
            var line = JSONBytes()
            line.append("        \"source\" : ")
            line.string(record.source)
            line.append(",\n")
            sourceLine = line.bytes
            var update = JSONBytes()
            update.append("        \"updatedAt\" : ")
            update.string(Timestamp.string(record.updatedAt))
            update.append(",\n        \"updatedBy\" : ")
            update.string(record.updatedBy)
            updateLines = update.bytes
        }
    }

    /// The `record` member (``RecordItem``'s members, sorted), after the service's OZG-ID line.
    private func writeRecord(_ record: StoredRecord, id: [UInt8], provenance: inout Provenance, to out: inout ByteBuffer) {
        let values = record.values
        provenance.update(record)
        out.writeStaticString(",\n      \"record\" : {\n")
        if let maturity = values.maturity {
            out.writeStaticString("        \"maturity\" : ")
            out.writeString(String(maturity))
            out.writeStaticString(",\n")
        }
        if let model = values.maturityModel {
            out.writeStaticString("        \"maturityModel\" : ")
            out.writeString(String(model.rawValue))
            out.writeStaticString(",\n")
        }
        if let note = values.note {
            out.writeStaticString("        \"note\" : ")
            out.writeJSONString(note)
            out.writeStaticString(",\n")
        }
        if let since = values.onlineSince {
            out.writeStaticString("        \"onlineSince\" : ")
            out.writeJSONString(since.description)
            out.writeStaticString(",\n")
        }
        out.writeBytes(id)
        if let planned = values.planned {
            out.writeStaticString("        \"planned\" : ")
            out.writeJSONString(planned.description)
            out.writeStaticString(",\n")
        }
        out.writeStaticString("        \"region\" : ")
        out.writeJSONString(record.key.region.description)
        out.writeStaticString(",\n")
        if let solution = values.solution {
            out.writeStaticString("        \"solution\" : ")
            out.writeJSONString(solution)
            out.writeStaticString(",\n")
        }
        out.writeBytes(provenance.sourceLine)
        out.writeBytes(statusLines[values.status.code])
        out.writeBytes(provenance.updateLines)
        if let url = values.url {
            out.writeStaticString(",\n        \"url\" : ")
            out.writeJSONString(url)
        }
        out.writeStaticString("\n      }")
    }

    /// `"name" : value` lines, comma-separated, each line starting with `indent`.
    private static func writeMembers(_ members: [(String, String)], indent: String, to out: inout ByteBuffer) {
        for (index, member) in members.enumerated() {
            out.writeString(indent)
            out.writeJSONString(member.0)
            out.writeStaticString(" : ")
            out.writeString(member.1)
            out.writeStaticString(index == members.count - 1 ? "\n" : ",\n")
        }
    }

    private static func quoted(_ text: String) -> String {
        var bytes = JSONBytes()
        bytes.string(text)
        return String(decoding: bytes.bytes, as: UTF8.self)
    }

    /// A percentage as JSONEncoder writes a `Double`: whole numbers without a fraction, others in their shortest
    /// form (shares are rounded to one decimal).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(describing: value)
    }
}

/// Bytes of JSON text under construction (for the parts encoded once).
struct JSONBytes {
    var bytes: [UInt8] = []

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// `text` as a JSON string literal, escaped as JSONEncoder escapes.
    mutating func string(_ text: String) {
        var buffer = ByteBufferAllocator().buffer(capacity: text.utf8.count + 8)
        buffer.writeJSONString(text)
        bytes.append(contentsOf: buffer.readableBytesView)
    }
}

extension ByteBuffer {
    /// Writes `text` as a JSON string literal, escaped exactly as Foundation's JSONEncoder escapes (with
    /// `.withoutEscapingSlashes`): `"` and `\` with a backslash; backspace, tab, line feed, form feed and carriage
    /// return as `\b`, `\t`, `\n`, `\f`, `\r`; other control characters as `\u00xx` (lower-case hex); everything
    /// else, U+2028/U+2029 included, as it is.
    mutating func writeJSONString(_ text: String) {
        writeInteger(UInt8(ascii: "\""))
        var copy = text
        copy.withUTF8 { bytes in
            var plain = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if index > plain { writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[plain..<index])) }
                plain = index + 1
                switch byte {
                case 0x22: writeStaticString("\\\"")
                case 0x5C: writeStaticString("\\\\")
                case 0x08: writeStaticString("\\b")
                case 0x09: writeStaticString("\\t")
                case 0x0A: writeStaticString("\\n")
                case 0x0C: writeStaticString("\\f")
                case 0x0D: writeStaticString("\\r")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    writeStaticString("\\u00")
                    writeInteger(hex.utf8Start[Int(byte >> 4)])
                    writeInteger(hex.utf8Start[Int(byte & 0xF)])
                }
            }
            if bytes.count > plain { writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[plain...])) }
        }
        writeInteger(UInt8(ascii: "\""))
    }
}
