public import OZGCore
import Foundation

/// One self-contained HTML5 page for people who decide: key figures, charts (inline SVG), a map of the scope's
/// units, ranked tables, coverage per service, the trend over time and EfA reuse — in German, `lang="de"`.
///
/// Nothing outside the file is loaded: CSS and SVG are inline, there is no script, and a Content-Security-Policy
/// `<meta>` forbids every network load (`default-src 'none'`), so even a mistake cannot phone home. Every stored
/// text is escaped; links to services are written only for `http`/`https` URLs. A print stylesheet lays the
/// sections out on A4.
///
/// The rows stream past once (as for every format) while per-unit counts accumulate; only aggregates are written
/// (a national page lists its 10,751 Gemeinden, not its six million rows), so the page stays small and the memory
/// flat. The trend is counted in the same pass, from the versions the store's cursor reads anyway
/// (``Report/rows(withTrend:)``).
public struct HTMLExporter: ReportExporter {
    public let identifier = "html"
    public let description = "HTML page for people: key figures, charts, map, tables, trend, EfA reuse (self-contained)"
    public let fileExtension = "html"
    public let mediaType = "text/html"

    public init() {}

    /// Fields a page of several units never shows (its aggregates count status, Reifegrad and solution).
    static let unshownFields: Set<RecordField> = [.planned, .onlineSince, .url, .note]

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let single = report.header.units == 1
        var serviceRows: [HTMLPage.ServiceRow] = []
        let rows: ReportRows
        if single {
            // One unit: its table shows every field of every service.
            rows = report.rows(withTrend: true)
            while let view = rows.nextView() {
                guard view.isReportingUnit else { continue }
                serviceRows.append(HTMLPage.ServiceRow(service: view.service, values: view.values, via: view.via))
            }
        } else {
            // Only aggregates are shown: the store need not read URLs, notes and dates (the report's producing
            // thread bounds its time), and no row needs to be handed out.
            rows = report.rows(withTrend: true, omitting: Self.unshownFields)
            rows.aggregateRemaining()
        }
        let summary = try report.summary()
        let trend = try report.trend()
        let page = HTMLPage(
            report: report, summary: summary, trend: trend, regions: rows.regionList, services: rows.serviceList,
            tally: rows.unitTally, serviceRows: serviceRows)
        try page.write(to: sink)
    }
}
