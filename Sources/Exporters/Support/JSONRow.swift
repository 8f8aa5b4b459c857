import Foundation
import OZGCore

/// JSON strings, escaped by scanning bytes.
enum JSONText {
    /// `value` as a JSON string literal: quotes, backslashes and control characters escaped, and U+2028/U+2029
    /// too, so that the output is also valid JavaScript.
    static func string(_ value: String, into out: inout String) {
        out += String(decoding: ByteWriter.encoded { $0.appendJSONString(value) }, as: UTF8.self)
    }
}

extension ByteWriter {
    /// Appends `value` as a JSON string literal (see ``JSONText/string(_:into:)``).
    mutating func appendJSONString(_ value: String) {
        append(ascii: 0x22)
        var copy = value
        copy.withUTF8 { bytes in
            var plain = 0
            var index = 0
            func flushPlain() {
                if index > plain { append(UnsafeBufferPointer(rebasing: bytes[plain..<index])) }
            }
            while index < bytes.count {
                let byte = bytes[index]
                var escape: StaticString?
                var width = 1
                switch byte {
                case 0x22: escape = "\\\""
                case 0x5C: escape = "\\\\"
                case 0x0A: escape = "\\n"
                case 0x0D: escape = "\\r"
                case 0x09: escape = "\\t"
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                    escape = bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                    width = 3
                default:
                    if byte < 0x20 {
                        flushPlain()
                        let hex: [UInt8] = Array("0123456789abcdef".utf8)
                        append("\\u00")
                        append(ascii: hex[Int(byte >> 4)])
                        append(ascii: hex[Int(byte & 0xF)])
                        index += 1
                        plain = index
                        continue
                    }
                }
                if let escape {
                    flushPlain()
                    append(escape)
                    index += width
                    plain = index
                } else {
                    index += 1
                }
            }
            flushPlain()
        }
        append(ascii: 0x22)
    }

    /// Appends a JSON string or `null`.
    mutating func appendJSONString(_ value: String?) {
        if let value { appendJSONString(value) } else { append("null") }
    }
}

/// The JSON object of one report row, shared by the JSON and JSON Lines formats (schema version 1).
///
/// Keys, always present (`null` when there is no value): `region`, `regionName`, `level`, `reportingUnit`,
/// `ozgId`, `service`, `themenfeld`, `status` (`null` when untracked), `statusGerman`, `maturity`,
/// `maturityModel`, `planned`, `onlineSince`, `url`, `solution`, `note`, `onlineOwn`,
/// `onlineIncludingHigherLevel`, `via`, and with provenance `updatedAt`, `updatedBy`, `source`.
///
/// Written from bytes with the parts that repeat (a region's keys, a service's keys, a status) encoded once:
/// a national report has about six million rows, and `JSONEncoder` per row would spend most of the run
/// building and sorting dictionaries while rows have a fixed shape.
struct ReportRowJSON {
    private let regions: [Region]
    private let services: [OZGService]
    private let provenance: Bool
    private var regionKeys: EncodedCache
    private var serviceKeys: EncodedCache
    private let statusKeys: [[UInt8]]
    private var lastProvenance: (at: Date?, by: String?, source: String?, bytes: [UInt8])?

    private static let untracked: StaticString =
        "\"status\":null,\"statusGerman\":null,\"maturity\":null,\"maturityModel\":null,\"planned\":null,\"onlineSince\":null,\"url\":null,\"solution\":null,\"note\":null,"

    init(rows: ReportRows, provenance: Bool) {
        regions = rows.regionList
        services = rows.serviceList
        self.provenance = provenance
        regionKeys = EncodedCache(count: regions.count)
        serviceKeys = EncodedCache(count: services.count)
        statusKeys = Status.allCases.sorted { $0.code < $1.code }.map { status in
            ByteWriter.encoded { writer in
                writer.append("\"status\":\"\(status.rawValue)\",\"statusGerman\":")
                writer.appendJSONString(status.german)
                writer.append(ascii: 0x2C)
            }
        }
    }

    /// Appends the row's object; `leading` goes first inside it (JSON Lines puts `"type":"row",` there).
    mutating func append(_ row: RowView, leading: StaticString = "", to out: inout ByteWriter) {
        out.append(ascii: 0x7B)
        out.append(leading)
        regionKeys.append(row.region, to: &out) { [regions] writer in
            let region = regions[row.region]
            writer.append("\"region\":\"")
            writer.append(region.key.description)
            writer.append("\",\"regionName\":")
            writer.appendJSONString(region.name)
            writer.append(",\"level\":\"")
            writer.append(region.level.rawValue)
            writer.append(row.isReportingUnit ? "\",\"reportingUnit\":true," as StaticString : "\",\"reportingUnit\":false,")
        }
        serviceKeys.append(row.service, to: &out) { [services] writer in
            let service = services[row.service]
            writer.append("\"ozgId\":\"")
            writer.append(service.id.description)
            writer.append("\",\"service\":")
            writer.appendJSONString(service.name)
            writer.append(",\"themenfeld\":")
            writer.append(service.themenfeld)
            writer.append(ascii: 0x2C)
        }
        if let values = row.values {
            out.append(statusKeys[values.status.code])
            out.append("\"maturity\":")
            if let maturity = values.maturity { out.append(maturity) } else { out.append("null") }
            out.append(",\"maturityModel\":")
            if let model = values.maturityModel { out.append(model.rawValue) } else { out.append("null") }
            out.append(",\"planned\":")
            if let planned = values.planned {
                out.append(ascii: 0x22)
                out.append(planned)
                out.append(ascii: 0x22)
            } else {
                out.append("null")
            }
            out.append(",\"onlineSince\":")
            if let since = values.onlineSince {
                out.append(ascii: 0x22)
                out.append(since)
                out.append(ascii: 0x22)
            } else {
                out.append("null")
            }
            out.append(",\"url\":")
            out.appendJSONString(values.url)
            out.append(",\"solution\":")
            out.appendJSONString(values.solution)
            out.append(",\"note\":")
            out.appendJSONString(values.note)
            out.append(ascii: 0x2C)
        } else {
            out.append(Self.untracked)
        }
        out.append(row.isOnline ? "\"onlineOwn\":true," as StaticString : "\"onlineOwn\":false,")
        out.append(
            row.isOnlineIncludingHigherLevel
                ? "\"onlineIncludingHigherLevel\":true,\"via\":" as StaticString : "\"onlineIncludingHigherLevel\":false,\"via\":")
        if let via = row.via {
            out.append(ascii: 0x22)
            out.append(via.description)
            out.append(ascii: 0x22)
        } else {
            out.append("null")
        }
        if provenance {
            // Who, when and from where repeat for every row of a batch: encoded once per change.
            let updatedAt = row.updatedAt
            let updatedBy = row.updatedBy
            let source = row.source
            if let last = lastProvenance, last.at == updatedAt, last.by == updatedBy, last.source == source {
                out.append(last.bytes)
            } else {
                let bytes = ByteWriter.encoded { out in
                    out.append(",\"updatedAt\":")
                    if let updatedAt {
                        out.append("\"\(Timestamp.string(updatedAt))\"")
                    } else {
                        out.append("null")
                    }
                    out.append(",\"updatedBy\":")
                    out.appendJSONString(updatedBy)
                    out.append(",\"source\":")
                    out.appendJSONString(source)
                }
                lastProvenance = (updatedAt, updatedBy, source, bytes)
                out.append(bytes)
            }
        }
        out.append(ascii: 0x7D)
    }
}

/// Header and aggregates as JSON (small: `JSONEncoder` with sorted keys).
enum ReportJSON {
    /// The header object: generator, editions, scope, filters, counting rule.
    static func header(_ header: ReportHeader, pretty: Bool) throws -> String {
        try JSON.encode(header, pretty: pretty)
    }

    /// The aggregates object.
    static func summary(_ summary: ReportSummary, pretty: Bool) throws -> String {
        try JSON.encode(summary, pretty: pretty)
    }
}
