public import OZGCore

/// GitHub-flavoured Markdown for councils and repositories: a summary, then tables per Themenfeld.
///
/// For one unit, the services of each Themenfeld with their status. For a larger scope, the coverage of each
/// service across the scope per Themenfeld, then one table per unit with its rows. Every cell is escaped
/// (`\`, `|`, backticks, emphasis and link characters, `<`/`>`; line breaks become `<br>`), so that no note
/// can break a table or inject markup. The summary needs the aggregates first, so this format reads the data
/// twice (two passes over one snapshot).
public struct MarkdownExporter: ReportExporter {
    public let identifier = "markdown"
    public let description = "Markdown (GitHub-flavoured): summary, then tables per Themenfeld"
    public let fileExtension = "md"
    public let mediaType = "text/markdown"

    public init() {}

    /// A table cell: escaped so that it renders as the text it is and keeps the table's columns.
    static func cell(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var previousWasCR = false
        let scalars = Array(text.unicodeScalars)
        for (index, scalar) in scalars.enumerated() {
            defer { previousWasCR = scalar == "\r" }
            switch scalar {
            case "\\", "|", "`", "*", "_", "[", "]", "#", "~":
                out.append("\\")
                out.unicodeScalars.append(scalar)
            case "<": out.append("&lt;")
            case ">": out.append("&gt;")
            case "&":
                // Only where it could start an entity (&lt; &#60;): "Familie & Kind" stays readable.
                let next = index + 1 < scalars.count ? scalars[index + 1] : " "
                out.append(next.properties.isAlphabetic || ("0"..."9").contains(next) || next == "#" ? "&amp;" : "&")
            case "\r": out.append("<br>")
            case "\n": if !previousWasCR { out.append("<br>") }
            case "\t": out.append(" ")
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { out.append("\u{FFFD}") } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// A URL as an autolink; characters that could end or escape it are percent-encoded.
    static func link(_ url: String) -> String {
        var out = "<"
        for scalar in url.unicodeScalars {
            switch scalar {
            case "<", ">", "|", "\\", "`", " ": out.append("%" + String(scalar.value, radix: 16, uppercase: true))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + ">"
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }

    static func rule(_ alignments: [Bool]) -> String { "|" + alignments.map { $0 ? "---:|" : "---|" }.joined() + "\n" }

    static func percent(_ value: Double) -> String { "\(value) %" }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let header = report.header
        let summary = try report.summary()
        let catalogue = report.catalogue.services
        var text = "# OZG-Umsetzungsstand: \(Self.cell(header.scope.name))\(header.scope.key.map { " (\($0))" } ?? "")\n\n"
        text += Self.row(["Angabe", "Wert"]) + Self.rule([false, false])
        let scopeLevel = header.scope.level == "bund" ? "Bund" : (RegionLevel(rawValue: header.scope.level)?.germanName ?? header.scope.level)
        text += Self.row(["Bereich", "\(Self.cell(header.scope.name)) (\(scopeLevel)), \(header.units) Berichtseinheit\(header.units == 1 ? "" : "en")"])
        text += Self.row(["Stand", header.asOf.map { "Stichtag \(Timestamp.string($0))" } ?? "aktueller Stand"])
        var services = "\(header.services) Leistungen"
        if let number = header.themenfeld { services += ", Themenfeld \(number) \(Self.cell(catalogue.themenfeld(number)?.name ?? ""))" }
        if header.municipalOnly { services += ", nur kommunale (LeiKa-Typ 2/3, 3, 4, 5)" }
        text += Self.row(["Leistungen", services])
        if let statuses = header.statuses { text += Self.row(["Zeilen", "nur Status " + statuses.joined(separator: ", ")]) }
        text += Self.row(["OZG-Katalog", "\(Self.cell(header.catalogue.name)) (\(header.catalogue.date))"])
        text += Self.row(["Gebietsstand", "\(Self.cell(header.territory.name)) (\(header.territory.date))"])
        text += Self.row(["Erstellt", "\(Timestamp.string(header.createdAt)) mit \(header.generator) \(header.version)"])
        text += """

            > **Zählweise.** „eigene“ zählt die Einträge der Einheit selbst; „einschl. höherer Ebene“ zählt auch \
            Leistungen, die eine übergeordnete Einheit (Gemeindeverband, Kreis, Bezirk, Land) online anbietet. \
            Relevant sind die Leistungen ohne die als „nicht zuständig“ erfassten; Anteile = online / relevant. \
            Reifegrad ≥ 3 zählt Stufen des Modells 1. Flächendeckend: online in jeder relevanten Einheit.

            ## Zusammenfassung


            """
        let overall = summary.overall
        text += Self.row(["Kennzahl", "Anzahl", "Anteil"]) + Self.rule([false, true, true])
        text += Self.row(["Leistungen (Einheiten × Leistungen)", String(overall.services), ""])
        text += Self.row(["erfasst", String(overall.tracked), ""])
        for status in Status.allCases { text += Self.row(["– \(status.german)", String(overall.count(status)), ""]) }
        text += Self.row(["relevant", String(overall.relevant), ""])
        text += Self.row(["**online – eigene**", String(overall.online), Self.percent(overall.shareOnline)])
        text += Self.row(["**online – einschl. höherer Ebene**", String(overall.onlineIncludingHigherLevel), Self.percent(overall.shareOnlineIncludingHigherLevel)])
        text += Self.row(["Reifegrad ≥ 3 (Modell 1)", String(overall.maturityAtLeast3), Self.percent(overall.shareMaturityAtLeast3)])
        if overall.maturityModel2 > 0 { text += Self.row(["Reifegrad nach Modell 2", String(overall.maturityModel2), ""]) }
        if summary.orphanedRecords > 0 {
            text += Self.row(["Einträge zu Schlüsseln außerhalb der geladenen Ausgaben", String(summary.orphanedRecords), ""])
        }
        text += "\n### Nach Themenfeld\n\n"
        text += Self.row(["Nr", "Themenfeld", "Leistungen", "relevant", "online eigene", "Anteil", "online einschl. höherer Ebene", "Anteil", "Reifegrad ≥ 3"])
        text += Self.rule([true, false, true, true, true, true, true, true, true])
        for field in summary.themenfelder {
            let counts = field.counts
            text += Self.row([
                String(field.number), Self.cell(field.name), String(counts.services), String(counts.relevant), String(counts.online),
                Self.percent(counts.shareOnline), String(counts.onlineIncludingHigherLevel),
                Self.percent(counts.shareOnlineIncludingHigherLevel), String(counts.maturityAtLeast3),
            ])
        }
        if !summary.maturity.isEmpty {
            text += "\n### Reifegrade (eigene Einträge)\n\n" + Self.row(["Modell", "Stufe", "Anzahl"]) + Self.rule([true, true, true])
            for bucket in summary.maturity { text += Self.row([String(bucket.model), String(bucket.level), String(bucket.count)]) }
        }
        try sink.write(text)
        if header.units == 1 && summary.higherLevelRows == 0 {
            try writeSingleUnit(report, to: sink)
        } else {
            try writeCoverage(summary, catalogue: catalogue, to: sink)
            try writeUnits(report, to: sink)
        }
    }

    private static let rowColumns = ["OZG-ID", "Leistung", "Status", "Reifegrad", "online seit", "geplant", "über", "URL", "Lösung", "Notiz"]

    private static func cells(_ row: ReportRow) -> [String] {
        let values = row.record?.values
        return [
            row.service.id.description, cell(row.service.name), values?.status.german ?? "nicht erfasst", values?.maturityText ?? "",
            values?.onlineSince?.description ?? "", values?.planned?.description ?? "", row.via?.description ?? "",
            values?.url.map(link) ?? "", values?.solution.map(cell) ?? "", values?.note.map(cell) ?? "",
        ]
    }

    /// One unit: its services per Themenfeld (at most one catalogue's worth of rows is held).
    private func writeSingleUnit(_ report: Report, to sink: any OutputSink) throws {
        var byField: [Int: [ReportRow]] = [:]
        for row in report.rows() { byField[row.service.themenfeld, default: []].append(row) }
        _ = try report.summary()
        var text = "\n## Leistungen nach Themenfeld\n"
        for number in byField.keys.sorted() {
            let name = report.catalogue.services.themenfeld(number)?.name ?? ""
            text += "\n### \(number) \(Self.cell(name))\n\n" + Self.row(Self.rowColumns) + Self.rule(Self.rowColumns.map { _ in false })
            for row in byField[number] ?? [] { text += Self.row(Self.cells(row)) }
        }
        try sink.write(text)
    }

    /// Coverage of each service across the scope, per Themenfeld.
    private func writeCoverage(_ summary: ReportSummary, catalogue: ServiceCatalogue, to sink: any OutputSink) throws {
        var text = "\n## Abdeckung je Leistung\n"
        let byField = Dictionary(grouping: summary.services, by: \.themenfeld)
        for number in byField.keys.sorted() {
            text += "\n### \(number) \(Self.cell(catalogue.themenfeld(number)?.name ?? ""))\n\n"
            text += Self.row(["OZG-ID", "Leistung", "relevante Einheiten", "online eigene", "Anteil", "Abdeckung", "online einschl. höherer Ebene", "Anteil", "Abdeckung"])
            text += Self.rule([false, false, true, true, true, false, true, true, false])
            for service in byField[number] ?? [] {
                text += Self.row([
                    service.ozgID, Self.cell(service.name), String(service.relevantUnits), String(service.onlineOwn),
                    Self.percent(service.shareOwn), service.classOwn.rawValue, String(service.onlineIncludingHigherLevel),
                    Self.percent(service.shareIncludingHigherLevel), service.classIncludingHigherLevel.rawValue,
                ])
            }
        }
        try sink.write(text)
    }

    /// One table per unit with its rows, streamed.
    private func writeUnits(_ report: Report, to sink: any OutputSink) throws {
        try sink.write("\n## Einträge je Einheit\n")
        var current: RegionKey?
        var text = ""
        for row in report.rows() {
            text.removeAll(keepingCapacity: true)
            if row.region.key != current {
                current = row.region.key
                text += "\n### \(Self.cell(row.region.name)) (\(row.region.key), \(row.region.kind))\n\n"
                text += Self.row(Self.rowColumns) + Self.rule(Self.rowColumns.map { _ in false })
            }
            text += Self.row(Self.cells(row))
            try sink.write(text)
        }
        _ = try report.summary()
    }
}
