public import OZGCore

/// One JSON document for scripts (schema `ozgtrack-report/1`):
/// `{"schema": "ozgtrack-report/1", "header": {…}, "rows": [{…}, …], "summary": {…}, "trend": {"points": […]}}`
/// (`summary.solutions` and `trend` are additions within version 1).
///
/// Rows are written as they come (the document is never held in memory); the row keys are listed in
/// `ReportRowJSON`, header and summary keys follow `ReportHeader` and `ReportSummary`. Keys within
/// objects are sorted in header and summary and fixed in rows, so that output diffs well.
public struct JSONExporter: ReportExporter {
    public let identifier = "json"
    public let description = "JSON document: header, rows, aggregates (schema ozgtrack-report/1)"
    public let fileExtension = "json"
    public let mediaType = "application/json"

    /// The schema name written into every document.
    public static let schema = "ozgtrack-report/1"

    public init() {}

    public func write(_ report: Report, to sink: any OutputSink) throws {
        var out = ByteWriter(sink: sink)
        out.append("{\n\"schema\": \"\(Self.schema)\",\n\"header\": ")
        out.append(try ReportJSON.header(report.header, pretty: true))
        out.append(",\n\"rows\": [")
        let rows = report.rows(withTrend: true)
        var json = ReportRowJSON(rows: rows, provenance: report.query.provenance)
        var first = true
        while let row = rows.nextView() {
            out.append(first ? "\n" as StaticString : ",\n")
            json.append(row, to: &out)
            first = false
            try out.flushIfFull()
        }
        let summary = try report.summary()
        out.append("\n],\n\"summary\": ")
        out.append(try ReportJSON.summary(summary, pretty: true))
        out.append(",\n\"trend\": ")
        out.append(try JSON.encode(try report.trend(), pretty: true))
        out.append("\n}\n")
        try out.flush()
    }
}

/// JSON Lines (schema `ozgtrack-report-jsonl/1`): the format process plugins read on stdin.
///
/// One JSON object per line: first `{"type": "header", "schema": "ozgtrack-report-jsonl/1", …header…}`, then
/// one `{"type": "row", …}` per row (keys as in `ReportRowJSON`), last `{"type": "summary", …aggregates…}`.
/// A consumer reads line by line and never needs the whole report in memory. Additions within version 1 only
/// add keys; a change that removes or renames one gets a new schema version.
public struct JSONLinesExporter: ReportExporter {
    public let identifier = "jsonl"
    public let description = "JSON Lines: header line, row lines, summary line (what exporter plugins receive)"
    public let fileExtension = "jsonl"
    public let mediaType = "application/jsonl"

    /// The schema name of the header line.
    public static let schema = "ozgtrack-report-jsonl/1"

    public init() {}

    public func write(_ report: Report, to sink: any OutputSink) throws {
        var out = ByteWriter(sink: sink)
        let header = try ReportJSON.header(report.header, pretty: false)
        out.append("{\"type\":\"header\",\"schema\":\"\(Self.schema)\"," + header.dropFirst() + "\n")
        let rows = report.rows(withTrend: true)
        var json = ReportRowJSON(rows: rows, provenance: report.query.provenance)
        while let row = rows.nextView() {
            json.append(row, leading: "\"type\":\"row\",", to: &out)
            out.append(ascii: 0x0A)
            try out.flushIfFull()
        }
        let summary = try ReportJSON.summary(try report.summary(), pretty: false)
        let trend = try JSON.encode(try report.trend(), pretty: false)
        out.append("{\"type\":\"summary\",\"trend\":" + trend + "," + summary.dropFirst() + "\n")
        try out.flush()
    }
}
