import Foundation
import OZGCore

/// JSON text written by hand for report rows.
///
/// A national report has about six million rows; `JSONEncoder` per row would spend most of the run building
/// and sorting dictionaries, while rows have a fixed shape. Header and aggregates (a few objects) still go
/// through `JSONEncoder` (see ``ReportJSON``).
enum JSONText {
    /// `value` as a JSON string literal: quotes, backslashes and control characters escaped, and U+2028/U+2029
    /// too, so that the output is also valid JavaScript.
    static func string(_ value: String, into out: inout String) {
        out.append("\"")
        var plain = true
        for unit in value.utf8 where unit < 0x20 || unit == 0x22 || unit == 0x5C || unit == 0xE2 {
            plain = false
            break
        }
        if plain {
            out.append(value)
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                case "\u{2028}": out.append("\\u2028")
                case "\u{2029}": out.append("\\u2029")
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out.append("\"")
    }

    static func optional(_ value: String?, into out: inout String) {
        if let value { string(value, into: &out) } else { out.append("null") }
    }
}

/// The JSON object of one report row, shared by the JSON and JSON Lines formats (schema version 1).
///
/// Keys, always present (`null` when there is no value): `region`, `regionName`, `level`, `reportingUnit`,
/// `ozgId`, `service`, `themenfeld`, `status` (`null` when untracked), `statusGerman`, `maturity`,
/// `maturityModel`, `planned`, `onlineSince`, `url`, `solution`, `note`, `onlineOwn`,
/// `onlineIncludingHigherLevel`, `via`, and with provenance `updatedAt`, `updatedBy`, `source`.
enum ReportRowJSON {
    /// Appends the row's object; `leading` goes first inside it (JSON Lines puts `"type":"row",` there).
    static func append(_ row: ReportRow, provenance: Bool, leading: String = "", to out: inout String) {
        let values = row.record?.values
        out.append("{")
        out.append(leading)
        out.append("\"region\":")
        JSONText.string(row.region.key.description, into: &out)
        out.append(",\"regionName\":")
        JSONText.string(row.region.name, into: &out)
        out.append(",\"level\":\"\(row.region.level.rawValue)\",\"reportingUnit\":\(row.isReportingUnit)")
        out.append(",\"ozgId\":\"\(row.service.id)\",\"service\":")
        JSONText.string(row.service.name, into: &out)
        out.append(",\"themenfeld\":\(row.service.themenfeld),\"status\":")
        JSONText.optional(values?.status.rawValue, into: &out)
        out.append(",\"statusGerman\":")
        JSONText.optional(values?.status.german, into: &out)
        out.append(",\"maturity\":\(values?.maturity.map(String.init) ?? "null")")
        out.append(",\"maturityModel\":\(values?.maturityModel.map { String($0.rawValue) } ?? "null")")
        out.append(",\"planned\":")
        JSONText.optional(values?.planned?.description, into: &out)
        out.append(",\"onlineSince\":")
        JSONText.optional(values?.onlineSince?.description, into: &out)
        out.append(",\"url\":")
        JSONText.optional(values?.url, into: &out)
        out.append(",\"solution\":")
        JSONText.optional(values?.solution, into: &out)
        out.append(",\"note\":")
        JSONText.optional(values?.note, into: &out)
        out.append(",\"onlineOwn\":\(row.isOnline),\"onlineIncludingHigherLevel\":\(row.isOnlineIncludingHigherLevel),\"via\":")
        JSONText.optional(row.via?.description, into: &out)
        if provenance {
            out.append(",\"updatedAt\":")
            JSONText.optional(row.record.map { Timestamp.string($0.updatedAt) }, into: &out)
            out.append(",\"updatedBy\":")
            JSONText.optional(row.record?.updatedBy, into: &out)
            out.append(",\"source\":")
            JSONText.optional(row.record?.source, into: &out)
        }
        out.append("}")
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
