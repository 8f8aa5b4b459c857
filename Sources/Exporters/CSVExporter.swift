public import OZGCore
import Foundation

/// CSV for spreadsheets (RFC 4180): UTF-8, CRLF line ends, one header row, one row per report row.
///
/// Columns: `region, region_name, level, reporting_unit, ozg_id, service, themenfeld, status, status_de,
/// maturity, maturity_model, planned, online_since, url, solution, note, online_own,
/// online_including_higher_level, via` and, with provenance, `updated_at, updated_by, source`. `status` is
/// `untracked` (`status_de` "nicht erfasst") where nothing is recorded; booleans are `true`/`false`.
///
/// Options: `;` as delimiter and a byte-order mark for German Excel. Cells are written by ozgtrack's one CSV
/// writer (``OZGCore/CSVFormat``): by default a text cell that a spreadsheet would run as a formula — starting
/// with `=`, `+`, `-`, `@`, tab or carriage return — is prefixed with `'` (OWASP's advice against CSV
/// injection); the prefix is the only change, and the importer takes it off again. Numeric columns are never
/// negative and never changed.
public struct CSVExporter: ReportExporter {
    public let identifier = "csv"
    public let description = "CSV (RFC 4180) for spreadsheets; ';' as delimiter and a byte-order mark for German Excel"
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

    /// `status,status_de` per status code, and for untracked rows (the delimiter is put in when writing).
    private var statusText: [[UInt8]] {
        let separator = String(options.csvDelimiter)
        return Status.allCases.sorted { $0.code < $1.code }.map { Array(($0.rawValue + separator + $0.german).utf8) }
    }
    private var untrackedText: [UInt8] { Array(("untracked" + String(options.csvDelimiter) + "nicht erfasst").utf8) }

    /// The CSV settings of these options (CRLF line ends, as spreadsheets expect).
    var format: CSVFormat {
        CSVFormat(
            delimiter: CSVDelimiter(rawValue: options.csvDelimiter.asciiValue ?? 0x2C) ?? .comma,
            formulaProtection: options.neutraliseFormulas, lineEnd: .crlf, byteOrderMark: options.byteOrderMark)
    }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let format = self.format
        let delimiter = format.delimiter.rawValue
        let protection = format.formulaProtection
        let provenance = report.query.provenance
        // The only writer to `sink` until its flush: full buffers are handed over, not copied.
        var out = ByteWriter(handingOverTo: sink)
        out.appendCSVStart(format)
        out.appendCSVRecord(Self.columns(provenance: provenance), format: format)
        let statusText = self.statusText
        let untrackedText = self.untrackedText
        // CSV shows no aggregates: the pass counts none.
        let rows = report.rowsWithoutAggregates()
        let regions = rows.regionList
        let services = rows.serviceList
        // The columns of a region and of a service repeat on hundreds of rows: encoded once each.
        var regionColumns = EncodedCache(count: regions.count)
        var serviceColumns = EncodedCache(count: services.count)
        var lastProvenance: (batch: Int, bytes: [UInt8])?
        func field(_ text: String, _ out: inout ByteWriter) {
            out.appendCSVField(text, delimiter: delimiter, formulaProtection: protection)
        }
        while let row = rows.nextView() {
            regionColumns.append(row.region, to: &out) { writer in
                let region = regions[row.region]
                field(region.key.description, &writer)
                writer.append(ascii: delimiter)
                field(region.name, &writer)
                writer.append(ascii: delimiter)
                writer.append(region.level.rawValue)
                writer.append(ascii: delimiter)
                writer.append(row.isReportingUnit ? "true" : "false")
                writer.append(ascii: delimiter)
            }
            serviceColumns.append(row.service, to: &out) { writer in
                let service = services[row.service]
                writer.append(service.id.description)
                writer.append(ascii: delimiter)
                field(service.name, &writer)
                writer.append(ascii: delimiter)
                writer.append(service.themenfeld)
                writer.append(ascii: delimiter)
            }
            // The values are read where the pass keeps them, field by field: a copy of the values per row (and the
            // reference counting of their texts) was ≈ 15 % of the client's CPU in the national report from
            // PostgreSQL (`perf record`, release build).
            let online = row.withVersion { version -> Bool in
                if let version {
                    out.append(statusText[version.pointee.values.status.code])
                    out.append(ascii: delimiter)
                    if let maturity = version.pointee.values.maturity { out.append(maturity) }
                    out.append(ascii: delimiter)
                    if let model = version.pointee.values.maturityModel { out.append(model.rawValue) }
                    out.append(ascii: delimiter)
                    if let planned = version.pointee.values.planned { out.append(planned) }
                    out.append(ascii: delimiter)
                    if let since = version.pointee.values.onlineSince { out.append(since) }
                    out.append(ascii: delimiter)
                    if let url = version.pointee.values.url { field(url, &out) }
                    out.append(ascii: delimiter)
                    if let solution = version.pointee.values.solution { field(solution, &out) }
                    out.append(ascii: delimiter)
                    if let note = version.pointee.values.note { field(note, &out) }
                    out.append(ascii: delimiter)
                    return version.pointee.values.status == .online
                } else {
                    out.append(untrackedText)
                    for _ in 0..<8 { out.append(ascii: delimiter) }
                    return false
                }
            }
            out.append(online ? "true" as StaticString : "false")
            out.append(ascii: delimiter)
            out.append(online || row.via != nil ? "true" as StaticString : "false")
            out.append(ascii: delimiter)
            if let via = row.via { out.append(via.description) }
            if provenance {
                out.append(ascii: delimiter)
                if let batch = row.batch {
                    // The three provenance columns, encoded once per batch (a national store has one).
                    if let last = lastProvenance, last.batch == batch {
                        out.append(last.bytes)
                    } else {
                        let info = rows.batch(batch)
                        let encoded = ByteWriter.encoded { writer in
                            writer.append(Timestamp.string(info.at))
                            writer.append(ascii: delimiter)
                            field(info.actor, &writer)
                            writer.append(ascii: delimiter)
                            field(info.source, &writer)
                        }
                        lastProvenance = (batch, encoded)
                        out.append(encoded)
                    }
                } else {
                    out.append(ascii: delimiter)
                    out.append(ascii: delimiter)
                }
            }
            out.appendCSVLineEnd(format)
            try out.flushIfFull()
        }
        try out.flush()
        try report.checkPass()  // surfaces an error that ended the rows early
    }
}
