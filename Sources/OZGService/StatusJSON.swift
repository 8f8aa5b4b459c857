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
    /// Where one service's fixed lines are in ``fixed``.
    private struct ServiceLines: Sendable {
        /// `    {` through the OZG-ID line (no comma, no line end).
        var head: Range<Int>
        /// `,` line end, and the Themenfeld line (no line end).
        var tail: Range<Int>
        /// The record's `ozgID` line, line end included.
        var recordID: Range<Int>
    }

    /// Every fixed line, one after the other: ranges of one array, not an array per line, so that writing a row
    /// retains nothing — both worker threads write documents from the same lines, and reference counts they share
    /// bounce between the cores.
    private let fixed: [UInt8]
    /// The services' OZG-IDs in catalogue order (the order of a view's rows), and their lines.
    private let ids: [OZGID]
    private let lines: [ServiceLines]
    /// The place of each service in ``lines``.
    private let positions: [OZGID: Int]
    /// By status code: the record's `status` and `statusGerman` lines, line ends included.
    private let statusLines: [Range<Int>]
    /// The statuses in the order `byStatus` lists them (its keys sorted).
    private let byStatusOrder: [Status]

    init(catalogue: Catalogue) {
        var fixed: [UInt8] = []
        func add(_ bytes: [UInt8]) -> Range<Int> {
            fixed.append(contentsOf: bytes)
            return (fixed.count - bytes.count)..<fixed.count
        }
        var lines: [ServiceLines] = []
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
            lines.append(ServiceLines(head: add(head.bytes), tail: add(tail.bytes), recordID: add(recordID.bytes)))
        }
        self.lines = lines
        ids = catalogue.services.services.map(\.id)
        positions = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        statusLines = Status.allCases.sorted { $0.code < $1.code }.map { status in
            var bytes = JSONBytes()
            bytes.append("        \"status\" : ")
            bytes.string(status.rawValue)
            bytes.append(",\n        \"statusGerman\" : ")
            bytes.string(status.german)
            bytes.append(",\n")
            return add(bytes.bytes)
        }
        self.fixed = fixed
        byStatusOrder = Status.allCases.sorted { Array($0.rawValue.utf8).lexicographicallyPrecedes(Array($1.rawValue.utf8)) }
    }

    /// The document of `view`, with the line end the command-line tool prints after it; `nil` when the view has
    /// no rows (JSONEncoder writes an empty array its own way: the caller encodes the listing instead) or a
    /// service the catalogue given at `init` does not have.
    func document(_ view: StatusView) -> ByteBuffer? {
        guard !view.rows.isEmpty else { return nil }
        var out = DocumentWriter(capacity: view.rows.count * 512 + 4096)
        out.append("{\n")
        if let asOf = view.asOf {
            out.append("  \"asOf\" : ")
            out.appendJSONString(Timestamp.string(asOf))
            out.append(",\n")
        }
        writeCounts(view.counts, to: &out)
        writeRegion(view.region, to: &out)
        out.append("  \"services\" : [\n")
        // Every record of the document is the unit's own (StatusView keeps only those).
        var regionLine = JSONBytes()
        regionLine.append("        \"region\" : ")
        regionLine.string(view.region.key.description)
        regionLine.append(",\n")
        var provenance = Provenance(regionLine: regionLine.bytes)
        // Rows are read in place, not copied: a copy of a row retains and releases every string of its service and
        // record (about 7 % of the instructions of an uncached status request, callgrind). Rows come in catalogue
        // order: their lines are found by walking both.
        let complete = fixed.withUnsafeBytes { fixed in view.rows.withUnsafeBufferPointer { rows -> Bool in
            var position = 0
            for index in rows.indices {
                let row = rows.baseAddress.unsafelyUnwrapped + index
                let id = row.pointee.service.id
                while position < ids.count && ids[position] < id { position += 1 }
                if position >= ids.count || ids[position] != id {
                    guard let found = positions[id] else { return false }
                    position = found
                }
                let service = lines[position]
                if index > 0 { out.append(",\n") }
                out.append(UnsafeRawBufferPointer(rebasing: fixed[service.head]))
                writeRecord(of: row, in: view, fixed: fixed, id: service.recordID, provenance: &provenance, to: &out)
                out.append(UnsafeRawBufferPointer(rebasing: fixed[service.tail]))
                if let via = row.pointee.via {
                    out.append(",\n      \"via\" : ")
                    out.appendJSONString(via.description)
                }
                out.append("\n    }")
            }
            return true
        } }
        guard complete else { return nil }
        out.append("\n  ]\n}\n")
        return out.buffer()
    }

    private func writeCounts(_ counts: ServiceCounts, to out: inout DocumentWriter) {
        out.append("  \"counts\" : {\n    \"byStatus\" : {\n")
        for (index, status) in byStatusOrder.enumerated() {
            out.append("      ")
            out.appendJSONString(status.rawValue)
            out.append(" : ")
            out.append(counts.count(status))
            out.append(index == byStatusOrder.count - 1 ? "\n" : ",\n")
        }
        out.append("    },\n")
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
        out.append("  },\n")
    }

    private func writeRegion(_ region: Region, to out: inout DocumentWriter) {
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
        out.append("  \"region\" : {\n")
        Self.writeMembers(members, indent: "    ", to: &out)
        out.append("  },\n")
    }

    /// The provenance lines of the batch the last record came from: records of one unit mostly share a batch.
    private struct Provenance {
        /// The record's `region` line, line end included.
        let regionLine: [UInt8]
        var at: Date?
        var actor = ""
        var source = ""
        /// The `source` line, line end included.
        var sourceLine: [UInt8] = []
        /// The `updatedAt` and `updatedBy` lines (no line end after the last).
        var updateLines: [UInt8] = []

        mutating func update(at updatedAt: Date, by updatedBy: String, source recordSource: String) {
            if at == updatedAt && actor == updatedBy && source == recordSource { return }
            at = updatedAt
            actor = updatedBy
            source = recordSource
            var line = JSONBytes()
            line.append("        \"source\" : ")
            line.string(recordSource)
            line.append(",\n")
            sourceLine = line.bytes
            var update = JSONBytes()
            update.append("        \"updatedAt\" : ")
            update.string(Timestamp.string(updatedAt))
            update.append(",\n        \"updatedBy\" : ")
            update.string(updatedBy)
            updateLines = update.bytes
        }
    }

    /// The `record` member of `row` (``RecordItem``'s members, sorted), after the service's OZG-ID line; nothing
    /// when the row has no record. The row is read in place (see ``document(_:)``); only its record is copied.
    private func writeRecord(
        of row: UnsafePointer<StatusView.Row>, in view: StatusView, fixed: UnsafeRawBufferPointer, id: Range<Int>,
        provenance: inout Provenance, to out: inout DocumentWriter
    ) {
        guard let record = row.pointee.record else { return }
        let values = record.values
        provenance.update(at: record.updatedAt, by: record.updatedBy, source: record.source)
        out.append(",\n      \"record\" : {\n")
        if let maturity = values.maturity {
            out.append("        \"maturity\" : ")
            out.append(maturity)
            out.append(",\n")
        }
        if let model = values.maturityModel {
            out.append("        \"maturityModel\" : ")
            out.append(model.rawValue)
            out.append(",\n")
        }
        if let note = values.note {
            out.append("        \"note\" : ")
            out.appendJSONString(note)
            out.append(",\n")
        }
        if let since = values.onlineSince {
            out.append("        \"onlineSince\" : \"")
            out.append(since)
            out.append("\",\n")
        }
        out.append(UnsafeRawBufferPointer(rebasing: fixed[id]))
        if let planned = values.planned {
            out.append("        \"planned\" : \"")
            out.append(planned)
            out.append("\",\n")
        }
        if record.key.region == view.region.key {
            out.append(provenance.regionLine)
        } else {
            out.append("        \"region\" : ")
            out.appendJSONString(record.key.region.description)
            out.append(",\n")
        }
        if let solution = values.solution {
            out.append("        \"solution\" : ")
            out.appendJSONString(solution)
            out.append(",\n")
        }
        out.append(provenance.sourceLine)
        out.append(UnsafeRawBufferPointer(rebasing: fixed[statusLines[values.status.code]]))
        out.append(provenance.updateLines)
        if let url = values.url {
            out.append(",\n        \"url\" : ")
            out.appendJSONString(url)
        }
        out.append("\n      }")
    }

    /// `"name" : value` lines, comma-separated, each line starting with `indent`.
    private static func writeMembers(_ members: [(String, String)], indent: StaticString, to out: inout DocumentWriter) {
        for (index, member) in members.enumerated() {
            out.append(indent)
            out.appendJSONString(member.0)
            out.append(" : ")
            out.append(text: member.1)
            out.append(index == members.count - 1 ? "\n" : ",\n")
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
        var writer = DocumentWriter(capacity: text.utf8.count + 16)
        writer.appendJSONString(text)
        bytes.append(contentsOf: writer.bytes)
    }
}

/// The bytes of one status document, gathered in memory and handed over as one `ByteBuffer`.
///
/// Not OZGCore's `ByteWriter`: that one copies pieces of up to 32 bytes byte by byte (right for a report's short
/// cells) and hands its bytes to a sink, which for a response meant one more copy of the whole document. A status
/// document is mostly fixed pieces of 20 to 150 bytes; copying them with `memcpy` took the writer from about a tenth
/// of the instructions of an uncached status request to about 2 % (callgrind, docs/performance.md, "The service").
struct DocumentWriter: ~Copyable {
    private var pointer: UnsafeMutableRawPointer
    private var capacity: Int
    /// The number of bytes written.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        pointer = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { pointer.deallocate() }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(extra) }
    }

    private mutating func grow(_ extra: Int) {
        var grown = capacity * 2
        while count + extra > grown { grown *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        bigger.copyMemory(from: pointer, byteCount: count)
        pointer.deallocate()
        pointer = bigger
        capacity = grown
    }

    /// Appends bytes.
    @inline(__always)
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let length = bytes.count
        reserve(length)
        if length <= 4 {
            for offset in 0..<length { pointer.storeBytes(of: base.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: count + offset, as: UInt8.self) }
        } else {
            (pointer + count).copyMemory(from: base, byteCount: length)
        }
        count += length
    }

    /// Appends the bytes of a string literal.
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends bytes.
    @inline(__always)
    mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Appends a string's UTF-8 bytes. (Not `append(_:)`: a string literal would pick this over ``append(_:)``
    /// for `StaticString`, and copy through a `String`.)
    mutating func append(text: String) {
        var copy = text
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends one byte (an ASCII character).
    @inline(__always)
    mutating func append(ascii byte: UInt8) {
        reserve(1)
        pointer.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// Appends an integer in decimal.
    mutating func append(_ value: Int) {
        if value >= 0 && value < 10 {
            append(ascii: UInt8(0x30 + value))
        } else {
            append(text: String(value))
        }
    }

    /// Appends a date as `YYYY-MM-DD`.
    mutating func append(_ date: ISODate) {
        reserve(10)
        let year = date.year
        let month = date.month
        let day = date.day
        func put(_ offset: Int, _ byte: Int) { pointer.storeBytes(of: UInt8(truncatingIfNeeded: byte), toByteOffset: count + offset, as: UInt8.self) }
        put(0, 0x30 + year / 1000 % 10)
        put(1, 0x30 + year / 100 % 10)
        put(2, 0x30 + year / 10 % 10)
        put(3, 0x30 + year % 10)
        put(4, 0x2D)
        put(5, 0x30 + month / 10)
        put(6, 0x30 + month % 10)
        put(7, 0x2D)
        put(8, 0x30 + day / 10)
        put(9, 0x30 + day % 10)
        count += 10
    }

    /// Appends `text` as a JSON string literal, escaped exactly as Foundation's JSONEncoder escapes (with
    /// `.withoutEscapingSlashes`): `"` and `\` with a backslash; backspace, tab, line feed, form feed and carriage
    /// return as `\b`, `\t`, `\n`, `\f`, `\r`; other control characters as `\u00xx` (lower-case hex); everything
    /// else, U+2028/U+2029 included, as it is. (The exporters' JSON escapes U+2028/U+2029 too: not the same bytes.)
    mutating func appendJSONString(_ text: String) {
        append(ascii: 0x22)
        var copy = text
        copy.withUTF8 { bytes in
            var plain = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if index > plain { append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[plain..<index])) }
                plain = index + 1
                switch byte {
                case 0x22: append("\\\"")
                case 0x5C: append("\\\\")
                case 0x08: append("\\b")
                case 0x09: append("\\t")
                case 0x0A: append("\\n")
                case 0x0C: append("\\f")
                case 0x0D: append("\\r")
                default:
                    let hex: StaticString = "0123456789abcdef"
                    append("\\u00")
                    append(ascii: hex.utf8Start[Int(byte >> 4)])
                    append(ascii: hex.utf8Start[Int(byte & 0xF)])
                }
            }
            if bytes.count > plain { append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[plain...])) }
        }
        append(ascii: 0x22)
    }

    /// The bytes written, as an array.
    var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: pointer, count: count)) }

    /// The bytes written, in one buffer for the response.
    func buffer() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeBytes(UnsafeRawBufferPointer(start: pointer, count: count))
        return buffer
    }
}
