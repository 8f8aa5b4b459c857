public import OZGCore

/// CSV for spreadsheets (RFC 4180): UTF-8, CRLF line ends, one header row, one row per report row.
///
/// Columns: `region, region_name, level, reporting_unit, ozg_id, service, themenfeld, status, status_de,
/// maturity, maturity_model, planned, online_since, url, solution, note, online_own,
/// online_including_higher_level, via` and, with provenance, `updated_at, updated_by, source`. `status` is
/// `untracked` (`status_de` "nicht erfasst") where nothing is recorded; booleans are `true`/`false`.
///
/// Options: `;` as delimiter and a byte-order mark for German Excel. By default a cell that a spreadsheet would
/// run as a formula — starting with `=`, `+`, `-`, `@`, tab or carriage return — is prefixed with `'` (OWASP's
/// advice against CSV injection); the prefix is the only change, so the original is the cell without it.
public struct CSVExporter: ReportExporter {
    public let identifier = "csv"
    public let description = "CSV (RFC 4180) for spreadsheets; --delimiter ';' and --bom for German Excel"
    public let fileExtension = "csv"
    public let mediaType = "text/csv"

    public var options: ExportOptions

    public init(options: ExportOptions = ExportOptions()) { self.options = options }

    public func configured(_ options: ExportOptions) -> any ReportExporter { CSVExporter(options: options) }

    /// The column names, in order.
    public static func columns(provenance: Bool) -> [String] {
        [
            "region", "region_name", "level", "reporting_unit", "ozg_id", "service", "themenfeld", "status", "status_de",
            "maturity", "maturity_model", "planned", "online_since", "url", "solution", "note", "online_own",
            "online_including_higher_level", "via",
        ] + (provenance ? ["updated_at", "updated_by", "source"] : [])
    }

    /// `value` as a cell: neutralised when it could start a formula, then quoted when needed.
    static func cell(_ value: String, delimiter: Character, neutralise: Bool, into out: inout String) {
        var text = value
        if neutralise, let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            text = "'" + value
        }
        out.append(CSVFormat.field(text, delimiter: delimiter))
    }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let delimiter = options.csvDelimiter
        let separator = String(delimiter)
        let provenance = report.query.provenance
        var line = options.byteOrderMark ? "\u{FEFF}" : ""
        line += Self.columns(provenance: provenance).joined(separator: separator) + "\r\n"
        try sink.write(line)
        for row in report.rows() {
            line.removeAll(keepingCapacity: true)
            let values = row.record?.values
            let texts: [String] = [
                row.region.key.description, row.region.name, row.region.level.rawValue, row.isReportingUnit ? "true" : "false",
                row.service.id.description, row.service.name, String(row.service.themenfeld),
                values?.status.rawValue ?? "untracked", values?.status.german ?? "nicht erfasst",
                values?.maturity.map(String.init) ?? "", values?.maturityModel.map { String($0.rawValue) } ?? "",
                values?.planned?.description ?? "", values?.onlineSince?.description ?? "", values?.url ?? "",
                values?.solution ?? "", values?.note ?? "", row.isOnline ? "true" : "false",
                row.isOnlineIncludingHigherLevel ? "true" : "false", row.via?.description ?? "",
            ]
            for (index, text) in texts.enumerated() {
                if index > 0 { line.append(delimiter) }
                Self.cell(text, delimiter: delimiter, neutralise: options.neutraliseFormulas, into: &line)
            }
            if provenance {
                for text in [row.record.map { Timestamp.string($0.updatedAt) } ?? "", row.record?.updatedBy ?? "", row.record?.source ?? ""] {
                    line.append(delimiter)
                    Self.cell(text, delimiter: delimiter, neutralise: options.neutraliseFormulas, into: &line)
                }
            }
            line.append("\r\n")
            try sink.write(line)
        }
        _ = try report.summary()  // surfaces an error that ended the rows early
    }
}
