public import OZGCore

/// GitHub-flavoured Markdown for councils and repositories: a summary, then tables per Themenfeld.
///
/// For one unit, the services of each Themenfeld with their status. For a larger scope, the coverage of each
/// service across the scope per Themenfeld, then one table per unit with its rows. Every cell is escaped
/// (`\`, `|`, backticks, emphasis and link characters, `<`/`>`; line breaks become `<br>`), so that no note
/// can break a table or inject markup. The summary needs the aggregates first, yet the data is read once: the
/// rows are written aside (to memory for one unit, to an unlinked temporary file otherwise) while the aggregates
/// accumulate, and copied after the summary.
public struct MarkdownExporter: ReportExporter {
    public let identifier = "markdown"
    public let description = "Markdown (GitHub-flavoured): summary, then tables per Themenfeld"
    public let fileExtension = "md"
    public let mediaType = "text/markdown"

    public init() {}

    /// A table cell: escaped so that it renders as the text it is and keeps the table's columns.
    static func cell(_ text: String) -> String {
        String(decoding: ByteWriter.encoded { $0.appendMarkdownCell(text) }, as: UTF8.self)
    }

    /// A URL as an autolink; characters that could end or escape it are percent-encoded.
    static func link(_ url: String) -> String {
        String(decoding: ByteWriter.encoded { $0.appendMarkdownLink(url) }, as: UTF8.self)
    }

    static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |\n" }

    static func rule(_ alignments: [Bool]) -> String { "|" + alignments.map { $0 ? "---:|" : "---|" }.joined() + "\n" }

    static func percent(_ value: Double) -> String { "\(value) %" }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        // One pass over the data: the rows go first to memory (one unit) or to a temporary file (more), while
        // the aggregates accumulate; then the summary is written, and the rows after it. A second pass for the
        // summary alone would read the whole snapshot again (about as long as the whole report).
        let header = report.header
        let single = header.units == 1 && (header.scope.level == RegionLevel.gemeinde.rawValue || header.scope.level == RegionLevel.gemeindefrei.rawValue)
        var byField: [Int: [ReportRow]] = [:]
        let details = single ? nil : try TemporaryFile()
        if let details {
            try writeUnits(report, to: details)
        } else {
            for row in report.rows(withTrend: true) { byField[row.service.themenfeld, default: []].append(row) }
        }
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
        text += Self.aggregates(trend: try report.trend(), solutions: summary.solutions)
        try sink.write(text)
        if let details {
            try writeCoverage(summary, catalogue: catalogue, to: sink)
            try details.copy(to: sink)
        } else {
            try writeSingleUnit(byField, catalogue: catalogue, to: sink)
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
    private func writeSingleUnit(_ byField: [Int: [ReportRow]], catalogue: ServiceCatalogue, to sink: any OutputSink) throws {
        var text = "\n## Leistungen nach Themenfeld\n"
        for number in byField.keys.sorted() {
            let name = catalogue.themenfeld(number)?.name ?? ""
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

    /// One table per unit with its rows, streamed, with the cells of services and statuses encoded once.
    private func writeUnits(_ report: Report, to sink: any OutputSink) throws {
        var out = ByteWriter(sink: sink)
        out.append("\n## Einträge je Einheit\n")
        let rows = report.rows(withTrend: true)
        let regions = rows.regionList
        let services = rows.serviceList
        var serviceCells = EncodedCache(count: services.count)
        let statusCells = Status.allCases.sorted { $0.code < $1.code }.map { Array(" | \($0.german) | ".utf8) }
        let headerRow = Array((Self.row(Self.rowColumns) + Self.rule(Self.rowColumns.map { _ in false })).utf8)
        var current = -1
        while let row = rows.nextView() {
            if row.region != current {
                current = row.region
                let region = regions[row.region]
                out.append("\n### ")
                out.appendMarkdownCell(region.name)
                out.append(" (\(region.key), \(region.kind))\n\n")
                out.append(headerRow)
            }
            serviceCells.append(row.service, to: &out) { writer in
                let service = services[row.service]
                writer.append("| ")
                writer.append(service.id.description)
                writer.append(" | ")
                writer.appendMarkdownCell(service.name)
            }
            if let values = row.values {
                out.append(statusCells[values.status.code])
                if let maturity = values.maturity {
                    out.append(maturity)
                    out.append(values.maturityModel == .v2 ? " (Modell 2)" as StaticString : " (Modell 1)")
                }
                out.append(" | ")
                if let since = values.onlineSince { out.append(since) }
                out.append(" | ")
                if let planned = values.planned { out.append(planned) }
                out.append(" | ")
                if let via = row.via { out.append(via.description) }
                out.append(" | ")
                if let url = values.url { out.appendMarkdownLink(url) }
                out.append(" | ")
                if let solution = values.solution { out.appendMarkdownCell(solution) }
                out.append(" | ")
                if let note = values.note { out.appendMarkdownCell(note) }
                out.append(" |\n")
            } else {
                out.append(" | nicht erfasst |  |  |  | ")
                if let via = row.via { out.append(via.description) }
                out.append(" |  |  |  |\n")
            }
            try out.flushIfFull()
        }
        try out.flush()
    }
}

extension ByteWriter {
    /// Appends `text` as a Markdown table cell: `\`, `|`, backticks, emphasis, link and heading characters
    /// escaped; `<` and `>` as entities, `&` where it could start one; line breaks as `<br>`; tabs as spaces;
    /// other control characters as U+FFFD.
    mutating func appendMarkdownCell(_ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            var index = 0
            var previousWasCR = false
            while index < bytes.count {
                let byte = bytes[index]
                defer {
                    previousWasCR = byte == 0x0D
                    index += 1
                }
                switch byte {
                case 0x5C, 0x7C, 0x60, 0x2A, 0x5F, 0x5B, 0x5D, 0x23, 0x7E:
                    append(ascii: 0x5C)
                    append(ascii: byte)
                case 0x3C: append("&lt;")
                case 0x3E: append("&gt;")
                case 0x26:
                    let next = index + 1 < bytes.count ? bytes[index + 1] : 0x20
                    let entity = (next >= 0x30 && next <= 0x39) || (next | 0x20 >= 0x61 && next | 0x20 <= 0x7A) || next == 0x23
                    append(entity ? "&amp;" as StaticString : "&")
                case 0x0D: append("<br>")
                case 0x0A: if !previousWasCR { append("<br>") }
                case 0x09: append(ascii: 0x20)
                case 0x00..<0x20, 0x7F: append("\u{FFFD}")
                case 0xC2, 0xE2, 0xEF:
                    // C1 controls, zero-width and bidirectional-override characters (and a BOM) are shown as
                    // U+FFFD: a rendered report must not reorder or hide text a reader relies on.
                    let length = Self.invisibleLength(bytes, at: index)
                    if length > 0 {
                        append("\u{FFFD}")
                        index += length - 1
                    } else {
                        append(ascii: byte)
                    }
                default: append(ascii: byte)
                }
            }
        }
    }

    /// The UTF-8 length of the C1 control (U+0080–U+009F), zero-width or bidirectional-formatting character
    /// (U+200B–U+200F, U+2028–U+202E, U+2066–U+2069) or BOM (U+FEFF) starting at `index`, or 0.
    static func invisibleLength(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int {
        let remaining = bytes.count - index
        guard remaining >= 2 else { return 0 }
        let first = bytes[index]
        let second = bytes[index + 1]
        if first == 0xC2 { return (0x80...0x9F).contains(second) ? 2 : 0 }
        guard remaining >= 3 else { return 0 }
        let third = bytes[index + 2]
        switch (first, second) {
        case (0xE2, 0x80): return (0x8B...0x8F).contains(third) || (0xA8...0xAE).contains(third) ? 3 : 0
        case (0xE2, 0x81): return (0xA6...0xA9).contains(third) ? 3 : 0
        case (0xEF, 0xBB): return third == 0xBF ? 3 : 0
        default: return 0
        }
    }

    /// Appends a URL as an autolink, percent-encoding what could end or escape it.
    mutating func appendMarkdownLink(_ url: String) {
        append(ascii: 0x3C)
        var copy = url
        copy.withUTF8 { bytes in
            let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
            for byte in bytes {
                switch byte {
                case 0x3C, 0x3E, 0x7C, 0x5C, 0x60, 0x20:
                    append(ascii: 0x25)
                    append(ascii: hex[Int(byte >> 4)])
                    append(ascii: hex[Int(byte & 0xF)])
                default:
                    append(ascii: byte)
                }
            }
        }
        append(ascii: 0x3E)
    }
}
