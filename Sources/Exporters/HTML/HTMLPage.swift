import Foundation
import OZGCore

/// The HTML page of one report, written section by section into a sink.
struct HTMLPage {
    /// One service of a single unit (the page of one Gemeinde lists them all).
    struct ServiceRow {
        var service: Int
        var values: RecordValues?
        var via: RegionKey?
    }

    /// A unit's figures on the page (a Gemeinde, or a Kreis or Land summed from its Gemeinden).
    struct UnitFigures {
        var key: String
        var name: String
        var context: String
        var services = 0
        var relevant = 0
        var online = 0
        var including = 0
        var maturity = 0
        var shareOnline: Double { ServiceCountsShare.percent(online, relevant) }
        var shareIncluding: Double { ServiceCountsShare.percent(including, relevant) }

        mutating func add(_ other: UnitFigures) {
            services += other.services
            relevant += other.relevant
            online += other.online
            including += other.including
            maturity += other.maturity
        }
    }

    let report: Report
    let summary: ReportSummary
    let trend: ReportTrend
    let regions: [Region]
    let services: [OZGService]
    let serviceRows: [ServiceRow]
    /// The reporting units with their figures, in key order.
    let units: [UnitFigures]
    let kind: ScopeKind

    /// What the page is about, which decides the map and the tables.
    enum ScopeKind {
        case gemeinde, kreis, land, country
    }

    init(
        report: Report, summary: ReportSummary, trend: ReportTrend, regions: [Region], services: [OZGService],
        tally: UnitTally, serviceRows: [ServiceRow]
    ) {
        self.report = report
        self.summary = summary
        self.trend = trend
        self.regions = regions
        self.services = services
        self.serviceRows = serviceRows
        let registry = report.catalogue.regions
        var units: [UnitFigures] = []
        for (index, region) in regions.enumerated() {
            let counts = tally.counts(index)
            guard counts.services > 0 else { continue }
            let kreis = region.key.description.count >= 5 ? String(region.key.description.prefix(5)) : ""
            let context = (try? RegionKey(kreis)).flatMap { registry.region($0)?.name } ?? ""
            units.append(
                UnitFigures(
                    key: region.key.description, name: region.name, context: context, services: counts.services,
                    relevant: counts.relevant, online: counts.online, including: counts.onlineIncludingHigherLevel,
                    maturity: counts.maturityAtLeast3))
        }
        self.units = units
        let level = report.header.scope.level
        switch level {
        case "bund": kind = .country
        case RegionLevel.land.rawValue, RegionLevel.bezirk.rawValue: kind = .land
        case RegionLevel.kreis.rawValue, RegionLevel.verband.rawValue: kind = report.header.units == 1 ? .gemeinde : .kreis
        default: kind = .gemeinde
        }
    }

    // MARK: - Writing

    func write(to sink: any OutputSink) throws {
        try sink.write(head())
        try sink.write(keyFigures())
        try sink.write(themenfeldChart())
        try sink.write(maturityChart())
        try sink.write(trendChart())
        try sink.write(map())
        try sink.write(unitTables())
        try sink.write(serviceTables())
        try sink.write(reuse())
        try sink.write(footer())
    }

    private var header: ReportHeader { report.header }

    private func head() -> String {
        let title = "OZG-Umsetzungsstand: \(header.scope.name)\(header.scope.key.map { " (\($0))" } ?? "")"
        var text = """
            <!DOCTYPE html>
            <html lang="de">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(HTML.contentSecurityPolicy)">
            <meta name="referrer" content="no-referrer">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="\(HTML.escape("\(header.generator) \(header.version)"))">
            <title>\(HTML.escape(title))</title>
            <style>\(HTML.stylesheet)</style>
            </head>
            <body>
            <header>
            <h1>\(HTML.escape(title))</h1>
            <dl class="facts">

            """
        let level = header.scope.level == "bund" ? "Bund" : (RegionLevel(rawValue: header.scope.level)?.germanName ?? header.scope.level)
        func fact(_ name: String, _ value: String) { text += "<dt>\(name)</dt><dd>\(value)</dd>\n" }
        fact("Bereich", "\(HTML.escape(header.scope.name)) (\(HTML.escape(level))), \(HTML.number(header.units)) Berichtseinheit\(header.units == 1 ? "" : "en")")
        fact("Stand", header.asOf.map { "Stichtag \(HTML.escape(Timestamp.string($0)))" } ?? "aktueller Stand")
        var filter = "\(HTML.number(header.services)) Leistungen"
        if let number = header.themenfeld {
            filter += ", Themenfeld \(number) \(HTML.escape(report.catalogue.services.themenfeld(number)?.name ?? ""))"
        }
        if header.municipalOnly { filter += ", nur kommunale (LeiKa-Typ 2/3, 3, 4, 5)" }
        if let statuses = header.statuses { filter += "; Zeilen nur mit Status \(HTML.escape(statuses.joined(separator: ", ")))" }
        fact("Leistungen", filter)
        fact("OZG-Katalog", "\(HTML.escape(header.catalogue.name)) (\(HTML.escape(header.catalogue.date)))")
        fact("Gebietsstand", "\(HTML.escape(header.territory.name)) (\(HTML.escape(header.territory.date)))")
        fact("Erstellt", "\(HTML.escape(Timestamp.string(header.createdAt))) mit \(HTML.escape(header.generator)) \(HTML.escape(header.version))")
        text += """
            </dl>
            <p class="rule"><strong>Zählweise.</strong> „eigene“ zählt die Einträge der Einheit selbst; „einschließlich \
            höherer Ebene“ zählt auch Leistungen, die eine übergeordnete Einheit (Gemeindeverband, Kreis, Bezirk, Land) \
            online anbietet. Relevant sind die Leistungen ohne die als „nicht zuständig“ erfassten; Anteile = online / \
            relevant. Reifegrad ≥ 3 zählt Stufen des Modells 1. Flächendeckend: online in jeder relevanten Einheit.</p>
            </header>
            <main>

            """
        return text
    }

    private func keyFigures() -> String {
        let overall = summary.overall
        func figure(_ label: String, _ value: String, _ detail: String) -> String {
            "<div class=\"kpi\"><p class=\"value\">\(value)</p><p class=\"label\">\(label)</p><p class=\"detail\">\(detail)</p></div>\n"
        }
        var text = "<section id=\"kennzahlen\">\n<h2>Kennzahlen</h2>\n<div class=\"kpis\">\n"
        text += figure("online – eigene", HTML.percent(overall.shareOnline), "\(HTML.number(overall.online)) von \(HTML.number(overall.relevant)) relevanten")
        text += figure(
            "online – einschl. höherer Ebene", HTML.percent(overall.shareOnlineIncludingHigherLevel),
            "\(HTML.number(overall.onlineIncludingHigherLevel)) von \(HTML.number(overall.relevant)) relevanten")
        text += figure("Reifegrad ≥ 3", HTML.percent(overall.shareMaturityAtLeast3), "\(HTML.number(overall.maturityAtLeast3)) Leistungen (Modell 1)")
        text += figure("relevante Leistungen", HTML.number(overall.relevant), "von \(HTML.number(overall.services)) (Einheiten × Leistungen)")
        text += figure("Berichtseinheiten", HTML.number(header.units), "\(HTML.number(header.services)) Leistungen je Einheit")
        text += "</div>\n"
        if summary.orphanedRecords > 0 {
            text += "<p>\(HTML.number(summary.orphanedRecords)) Einträge zu Schlüsseln außerhalb der geladenen Ausgaben (nicht gezählt; <code>ozgtrack check</code> listet sie).</p>\n"
        }
        return text + "</section>\n"
    }

    // MARK: - Charts

    /// The segments of a Themenfeld's bar: own statuses, a partition of its services.
    private static let segments: [(label: String, colour: String, count: @Sendable (ServiceCounts) -> Int)] = [
        ("online", "#009E73", { $0.online }),
        ("in Umsetzung", "#56B4E9", { $0.count(.inProgress) }),
        ("geplant", "#E69F00", { $0.count(.planned) }),
        ("nicht begonnen", "#CC79A7", { $0.count(.notStarted) }),
        ("nicht erfasst", "#BBBBBB", { $0.services - $0.tracked }),
        ("nicht zuständig", "#F0F0F0", { $0.notApplicable }),
    ]

    private func themenfeldChart() -> String {
        let fields = summary.themenfelder
        let rowHeight = 26
        let labelWidth = 300
        let barWidth = 560
        let height = fields.count * rowHeight + 10
        var text = "<section id=\"themenfelder\">\n<h2>Status nach Themenfeld</h2>\n<figure>\n"
        text += "<svg class=\"chart\" role=\"img\" aria-labelledby=\"tf-title tf-desc\" viewBox=\"0 0 \(labelWidth + barWidth + 90) \(height)\" data-chart=\"themenfelder\">\n"
        text += "<title id=\"tf-title\">Status der Leistungen nach Themenfeld (eigene Einträge)</title>\n"
        text += "<desc id=\"tf-desc\">Ein gestapelter Balken je Themenfeld: online, in Umsetzung, geplant, nicht begonnen, nicht erfasst, nicht zuständig; ein schwarzer Strich markiert den Anteil online einschließlich höherer Ebene. Die Zahlen stehen in der Tabelle darunter.</desc>\n"
        for (row, field) in fields.enumerated() {
            let counts = field.counts
            let y = 5 + row * rowHeight
            text += "<g class=\"bar\"><text x=\"\(labelWidth - 6)\" y=\"\(y + 16)\" text-anchor=\"end\">\(field.number) \(HTML.escape(field.name))</text>\n"
            var x = Double(labelWidth)
            let total = max(counts.services, 1)
            for segment in Self.segments {
                let value = segment.count(counts)
                guard value > 0 else { continue }
                let width = Double(barWidth) * Double(value) / Double(total)
                text += "<rect x=\"\(HTML.coordinate(x))\" y=\"\(y + 2)\" width=\"\(HTML.coordinate(width))\" height=\"\(rowHeight - 6)\" fill=\"\(segment.colour)\"><title>\(HTML.escape(field.name)): \(segment.label) \(HTML.number(value))</title></rect>"
                x += width
            }
            if counts.relevant > 0 {
                let share = Double(counts.onlineIncludingHigherLevel) / Double(total)
                let mark = Double(labelWidth) + Double(barWidth) * share
                text += "<line x1=\"\(HTML.coordinate(mark))\" x2=\"\(HTML.coordinate(mark))\" y1=\"\(y)\" y2=\"\(y + rowHeight - 2)\" stroke=\"#000\" stroke-width=\"2\"><title>online einschl. höherer Ebene: \(HTML.number(counts.onlineIncludingHigherLevel))</title></line>"
            }
            text += "<text x=\"\(labelWidth + barWidth + 6)\" y=\"\(y + 16)\">\(HTML.percent(counts.shareOnline))</text></g>\n"
        }
        text += "</svg>\n<figcaption>" + Self.legend(Self.segments.map { ($0.label, $0.colour) }) + " <span class=\"key\"><span class=\"tick\"></span>online einschl. höherer Ebene</span></figcaption>\n</figure>\n"
        text += "<div class=\"wide\"><table>\n<caption>Status nach Themenfeld (Anzahl Einheiten × Leistungen)</caption>\n<thead><tr><th scope=\"col\">Nr</th><th scope=\"col\">Themenfeld</th><th scope=\"col\">Leistungen</th>"
        for segment in Self.segments { text += "<th scope=\"col\">\(segment.label)</th>" }
        text += "<th scope=\"col\">relevant</th><th scope=\"col\">online eigene</th><th scope=\"col\">online einschl. höherer Ebene</th><th scope=\"col\">Reifegrad ≥ 3</th></tr></thead>\n<tbody>\n"
        for field in fields {
            let counts = field.counts
            text += "<tr><td class=\"n\">\(field.number)</td><th scope=\"row\">\(HTML.escape(field.name))</th><td class=\"n\">\(HTML.number(counts.services))</td>"
            for segment in Self.segments { text += "<td class=\"n\">\(HTML.number(segment.count(counts)))</td>" }
            text += "<td class=\"n\">\(HTML.number(counts.relevant))</td><td class=\"n\">\(HTML.number(counts.online)) (\(HTML.percent(counts.shareOnline)))</td>"
            text += "<td class=\"n\">\(HTML.number(counts.onlineIncludingHigherLevel)) (\(HTML.percent(counts.shareOnlineIncludingHigherLevel)))</td><td class=\"n\">\(HTML.number(counts.maturityAtLeast3))</td></tr>\n"
        }
        return text + "</tbody>\n</table></div>\n</section>\n"
    }

    static func legend(_ entries: [(String, String)]) -> String {
        entries.map { "<span class=\"key\"><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"\($0.1)\" stroke=\"#666\" stroke-width=\"0.5\"/></svg>\(HTML.escape($0.0))</span>" }
            .joined(separator: " ")
    }

    /// The Reifegrad buckets shown: every level of model 1, and of model 2 when any record uses it.
    var maturityBars: [(model: Int, level: Int, count: Int)] {
        var bars: [(Int, Int, Int)] = []
        for model in MaturityModel.allCasesForCharts where model == .v1 || summary.maturity.contains(where: { $0.model == model.rawValue }) {
            for level in model.levels {
                bars.append((model.rawValue, level, summary.maturity.first { $0.model == model.rawValue && $0.level == level }?.count ?? 0))
            }
        }
        return bars
    }

    private func maturityChart() -> String {
        let bars = maturityBars
        let largest = max(bars.map(\.count).max() ?? 0, 1)
        let barWidth = 48
        let chartHeight = 180
        let width = bars.count * (barWidth + 12) + 60
        var text = "<section id=\"reifegrad\">\n<h2>Reifegrade</h2>\n<figure>\n"
        text += "<svg class=\"chart\" role=\"img\" aria-labelledby=\"rg-title rg-desc\" viewBox=\"0 -20 \(width) \(chartHeight + 70)\" data-chart=\"reifegrad\">\n"
        text += "<title id=\"rg-title\">Verteilung der Reifegrade (eigene Einträge)</title>\n"
        text += "<desc id=\"rg-desc\">Ein Balken je Stufe des Reifegradmodells 1 (0 bis 4)\(bars.count > 5 ? " und des Modells 2 (0 bis 7)" : ""); die Höhe ist die Zahl der Einträge mit dieser Stufe. Die Zahlen stehen in der Tabelle darunter.</desc>\n"
        text += "<line x1=\"40\" x2=\"\(width - 10)\" y1=\"\(chartHeight + 10)\" y2=\"\(chartHeight + 10)\" stroke=\"#444\"/>\n"
        for (index, bar) in bars.enumerated() {
            let x = 50 + index * (barWidth + 12)
            let height = Double(chartHeight) * Double(bar.count) / Double(largest)
            let colour = bar.model == 1 ? "#0072B2" : "#D55E00"
            text += "<g class=\"bar\"><rect x=\"\(x)\" y=\"\(HTML.coordinate(Double(chartHeight + 10) - height))\" width=\"\(barWidth)\" height=\"\(HTML.coordinate(height))\" fill=\"\(colour)\"><title>Modell \(bar.model), Stufe \(bar.level): \(HTML.number(bar.count))</title></rect>"
            text += "<text x=\"\(x + barWidth / 2)\" y=\"\(chartHeight + 26)\" text-anchor=\"middle\">\(bar.model == 1 ? "" : "M2 ")\(bar.level)</text>"
            text += "<text x=\"\(x + barWidth / 2)\" y=\"\(HTML.coordinate(Double(chartHeight + 6) - height))\" text-anchor=\"middle\">\(HTML.number(bar.count))</text></g>\n"
        }
        text += "<text x=\"40\" y=\"\(chartHeight + 44)\">Stufe</text>\n</svg>\n</figure>\n"
        text += "<div class=\"wide\"><table>\n<caption>Reifegrade der eigenen Einträge</caption>\n<thead><tr><th scope=\"col\">Modell</th><th scope=\"col\">Stufe</th><th scope=\"col\">Einträge</th></tr></thead>\n<tbody>\n"
        for bar in bars {
            text += "<tr><td class=\"n\">\(bar.model)</td><td class=\"n\">\(bar.level)</td><td class=\"n\">\(HTML.number(bar.count))</td></tr>\n"
        }
        return text + "</tbody>\n</table></div>\n</section>\n"
    }

    private func trendChart() -> String {
        var text = "<section id=\"verlauf\">\n<h2>Verlauf</h2>\n"
        let points = trend.points
        guard !points.isEmpty else {
            return text + "<p>Für diesen Bereich ist noch nichts erfasst: kein Verlauf.</p>\n</section>\n"
        }
        let width = 760
        let height = 240
        let left = 50
        let plotWidth = width - left - 20
        let plotHeight = height - 50
        func x(_ index: Int) -> Double {
            points.count == 1 ? Double(left + plotWidth / 2) : Double(left) + Double(plotWidth) * Double(index) / Double(points.count - 1)
        }
        func y(_ share: Double) -> Double { 10 + Double(plotHeight) * (1 - share / 100) }
        text += "<figure>\n<svg class=\"chart\" role=\"img\" aria-labelledby=\"vl-title vl-desc\" viewBox=\"0 0 \(width) \(height)\" data-chart=\"verlauf\">\n"
        text += "<title id=\"vl-title\">Anteil online zum Monatsende, \(HTML.escape(points[0].date.description)) bis \(HTML.escape(points[points.count - 1].date.description))</title>\n"
        text += "<desc id=\"vl-desc\">Zwei Linien: Anteil online nach eigenen Einträgen und einschließlich höherer Ebene, in Prozent der relevanten Leistungen, je Monatsende. Die Zahlen stehen in der Tabelle darunter.</desc>\n"
        for tick in stride(from: 0, through: 100, by: 25) {
            let value = y(Double(tick))
            text += "<line x1=\"\(left)\" x2=\"\(width - 20)\" y1=\"\(HTML.coordinate(value))\" y2=\"\(HTML.coordinate(value))\" stroke=\"#ddd\"/><text x=\"\(left - 6)\" y=\"\(HTML.coordinate(value + 4))\" text-anchor=\"end\">\(tick) %</text>\n"
        }
        let series: [(String, String, String, (ReportTrend.Point) -> Double)] = [
            ("einschl. höherer Ebene", "#0072B2", "", { $0.shareOnlineIncludingHigherLevel }),
            ("eigene", "#D55E00", " stroke-dasharray=\"6 3\"", { $0.shareOnline }),
        ]
        for (label, colour, dash, value) in series {
            let coordinates = points.indices.map { "\(HTML.coordinate(x($0))),\(HTML.coordinate(y(value(points[$0]))))" }.joined(separator: " ")
            text += "<polyline class=\"line\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2.5\"\(dash) points=\"\(coordinates)\"/>\n"
            for (index, point) in points.enumerated() {
                text += "<circle class=\"pt\" cx=\"\(HTML.coordinate(x(index)))\" cy=\"\(HTML.coordinate(y(value(point))))\" r=\"3.5\" fill=\"\(colour)\"><title>\(HTML.escape(point.date.description)): online \(label) \(HTML.percent(value(point)))</title></circle>\n"
            }
        }
        let labelEvery = max(1, points.count / 8)
        for index in points.indices where index % labelEvery == 0 || index == points.count - 1 {
            text += "<text x=\"\(HTML.coordinate(x(index)))\" y=\"\(height - 18)\" text-anchor=\"middle\">\(HTML.escape(String(points[index].date.description.prefix(7))))</text>\n"
        }
        text += "</svg>\n<figcaption>" + Self.legend([("online einschl. höherer Ebene", "#0072B2"), ("online eigene (gestrichelt)", "#D55E00")]) + "</figcaption>\n</figure>\n"
        text += "<div class=\"wide\"><table>\n<caption>Anteil online zum Monatsende (der letzte Stand zum Stichtag)</caption>\n<thead><tr><th scope=\"col\">Stand</th><th scope=\"col\">relevant</th><th scope=\"col\">online eigene</th><th scope=\"col\">Anteil</th><th scope=\"col\">online einschl. höherer Ebene</th><th scope=\"col\">Anteil</th></tr></thead>\n<tbody>\n"
        for point in points {
            text += "<tr><td>\(HTML.escape(point.date.description))</td><td class=\"n\">\(HTML.number(point.relevant))</td><td class=\"n\">\(HTML.number(point.online))</td><td class=\"n\">\(HTML.percent(point.shareOnline))</td><td class=\"n\">\(HTML.number(point.onlineIncludingHigherLevel))</td><td class=\"n\">\(HTML.percent(point.shareOnlineIncludingHigherLevel))</td></tr>\n"
        }
        return text + "</tbody>\n</table></div>\n</section>\n"
    }

    // MARK: - Tables

    /// The units summed per key prefix (5: Kreise, 2: Länder), named from the registry.
    func grouped(prefix length: Int) -> [UnitFigures] {
        let registry = report.catalogue.regions
        var groups: [String: UnitFigures] = [:]
        for unit in units {
            let key = String(unit.key.prefix(length))
            if groups[key] == nil {
                let region = (try? RegionKey(key)).flatMap { registry.region($0) }
                let land = length > 2 ? (try? RegionKey(String(key.prefix(2)))).flatMap { registry.region($0)?.name } ?? "" : ""
                groups[key] = UnitFigures(key: key, name: region?.name ?? key, context: land)
            }
            groups[key]?.add(unit)
        }
        return groups.values.sorted { $0.key < $1.key }
    }

    static func ranked(_ units: [UnitFigures]) -> [UnitFigures] {
        units.sorted {
            ($0.shareIncluding, $0.shareOnline, $1.name, $1.key) > ($1.shareIncluding, $1.shareOnline, $0.name, $0.key)
        }
    }

    private func unitTable(_ units: [UnitFigures], caption: String, contextTitle: String?, id: String) -> String {
        var text = "<div class=\"wide\"><table id=\"\(id)\">\n<caption>\(HTML.escape(caption))</caption>\n<thead><tr><th scope=\"col\">Rang</th><th scope=\"col\">Einheit</th><th scope=\"col\">Schlüssel</th>"
        if let contextTitle { text += "<th scope=\"col\">\(contextTitle)</th>" }
        text += "<th scope=\"col\">relevant</th><th scope=\"col\">online eigene</th><th scope=\"col\">Anteil</th><th scope=\"col\">online einschl. höherer Ebene</th><th scope=\"col\">Anteil</th><th scope=\"col\">Reifegrad ≥ 3</th></tr></thead>\n<tbody>\n"
        for (rank, unit) in Self.ranked(units).enumerated() {
            text += "<tr><td class=\"n\">\(rank + 1)</td><th scope=\"row\">\(HTML.escape(unit.name))</th><td>\(unit.key)</td>"
            if contextTitle != nil { text += "<td>\(HTML.escape(unit.context))</td>" }
            text += "<td class=\"n\">\(HTML.number(unit.relevant))</td><td class=\"n\">\(HTML.number(unit.online))</td><td class=\"n\">\(HTML.percent(unit.shareOnline))</td><td class=\"n\">\(HTML.number(unit.including))</td><td class=\"n\">\(HTML.percent(unit.shareIncluding))</td><td class=\"n\">\(HTML.number(unit.maturity))</td></tr>\n"
        }
        return text + "</tbody>\n</table></div>\n"
    }

    private func unitTables() -> String {
        guard kind != .gemeinde else { return "" }
        var text = "<section id=\"einheiten\">\n<h2>Einheiten im Vergleich</h2>\n<p>Sortiert nach dem Anteil online einschließlich höherer Ebene, dann nach dem eigenen.</p>\n"
        if kind == .country {
            text += "<h3>Länder</h3>\n" + unitTable(grouped(prefix: 2), caption: "Länder, nach Anteil online", contextTitle: nil, id: "laender")
        }
        if kind == .country || kind == .land {
            text += "<h3>Kreise</h3>\n" + unitTable(grouped(prefix: 5), caption: "Kreise, nach Anteil online", contextTitle: kind == .country ? "Land" : nil, id: "kreise")
        }
        text += "<h3>Gemeinden</h3>\n" + unitTable(units, caption: "Gemeinden, nach Anteil online", contextTitle: kind == .kreis ? nil : "Kreis", id: "gemeinden")
        return text + "</section>\n"
    }

    private func serviceTables() -> String {
        let catalogue = report.catalogue.services
        if kind == .gemeinde {
            var text = "<section id=\"leistungen\">\n<h2>Leistungen nach Themenfeld</h2>\n"
            let registry = report.catalogue.regions
            let byField = Dictionary(grouping: serviceRows) { services[$0.service].themenfeld }
            if serviceRows.isEmpty { text += "<p>Keine Zeilen (Statusfilter).</p>\n" }
            for number in byField.keys.sorted() {
                text += "<h3>\(number) \(HTML.escape(catalogue.themenfeld(number)?.name ?? ""))</h3>\n<div class=\"wide\"><table>\n<caption>Leistungen des Themenfelds \(number)</caption>\n"
                text += "<thead><tr><th scope=\"col\">OZG-ID</th><th scope=\"col\">Leistung</th><th scope=\"col\">Status</th><th scope=\"col\">Reifegrad</th><th scope=\"col\">online seit</th><th scope=\"col\">geplant</th><th scope=\"col\">über</th><th scope=\"col\">Online-Dienst</th><th scope=\"col\">Lösung</th><th scope=\"col\">Notiz</th></tr></thead>\n<tbody>\n"
                for row in byField[number] ?? [] {
                    let service = services[row.service]
                    let values = row.values
                    let via = row.via.map { key in registry.region(key).map { "\($0.name) (\(key))" } ?? key.description } ?? ""
                    var link = ""
                    if let url = values?.url {
                        link = HTML.isWebLink(url) ? "<a href=\"\(HTML.escape(url))\" rel=\"noopener noreferrer\">\(HTML.escape(url))</a>" : HTML.escape(url)
                    }
                    let status = values?.status.german ?? "nicht erfasst"
                    text += "<tr><td>\(service.id)</td><th scope=\"row\">\(HTML.escape(service.name))</th><td class=\"s-\(values?.status.rawValue ?? "untracked")\">\(HTML.escape(status))</td><td>\(HTML.escape(values?.maturityText ?? ""))</td>"
                    text += "<td>\(values?.onlineSince?.description ?? "")</td><td>\(values?.planned?.description ?? "")</td><td>\(HTML.escape(via))</td><td class=\"url\">\(link)</td><td>\(HTML.escape(values?.solution ?? ""))</td><td class=\"note\">\(HTML.escape(values?.note ?? ""))</td></tr>\n"
                }
                text += "</tbody>\n</table></div>\n"
            }
            return text + "</section>\n"
        }
        var text = "<section id=\"leistungen\">\n<h2>Abdeckung je Leistung</h2>\n<p>Je Leistung: in wie vielen relevanten Einheiten sie online ist (flächendeckend: in jeder; mindestens eine; keine).</p>\n"
        let byField = Dictionary(grouping: summary.services, by: \.themenfeld)
        for number in byField.keys.sorted() {
            text += "<h3>\(number) \(HTML.escape(catalogue.themenfeld(number)?.name ?? ""))</h3>\n<div class=\"wide\"><table>\n<caption>Abdeckung der Leistungen des Themenfelds \(number)</caption>\n"
            text += "<thead><tr><th scope=\"col\">OZG-ID</th><th scope=\"col\">Leistung</th><th scope=\"col\">relevante Einheiten</th><th scope=\"col\">online eigene</th><th scope=\"col\">Anteil</th><th scope=\"col\">Abdeckung</th><th scope=\"col\">online einschl. höherer Ebene</th><th scope=\"col\">Anteil</th><th scope=\"col\">Abdeckung</th></tr></thead>\n<tbody>\n"
            for service in byField[number] ?? [] {
                text += "<tr><td>\(HTML.escape(service.ozgID))</td><th scope=\"row\">\(HTML.escape(service.name))</th><td class=\"n\">\(HTML.number(service.relevantUnits))</td><td class=\"n\">\(HTML.number(service.onlineOwn))</td><td class=\"n\">\(HTML.percent(service.shareOwn))</td><td>\(Self.coverage(service.classOwn))</td><td class=\"n\">\(HTML.number(service.onlineIncludingHigherLevel))</td><td class=\"n\">\(HTML.percent(service.shareIncludingHigherLevel))</td><td>\(Self.coverage(service.classIncludingHigherLevel))</td></tr>\n"
            }
            text += "</tbody>\n</table></div>\n"
        }
        return text + "</section>\n"
    }

    static func coverage(_ value: CoverageClass) -> String {
        switch value {
        case .flaechendeckend: "flächendeckend"
        case .mindestensEine: "mindestens eine"
        case .keine: "keine"
        }
    }

    private func reuse() -> String {
        var text = "<section id=\"nachnutzung\">\n<h2>Nachnutzung (EfA)</h2>\n"
        guard !summary.solutions.isEmpty else {
            return text + "<p>In diesem Bereich nennt kein Eintrag eine Lösung (Feld „Lösung“).</p>\n</section>\n"
        }
        text += "<p>Je im Feld „Lösung“ genannter Lösung: die Berichtseinheiten, die sie für mindestens eine Leistung nutzen, ihr Anteil an allen Berichtseinheiten, die Einheiten höherer Ebenen, die sie nennen, und die Leistungen.</p>\n"
        text += "<div class=\"wide\"><table id=\"loesungen\">\n<caption>Genannte Lösungen, die meistgenutzten zuerst</caption>\n<thead><tr><th scope=\"col\">Lösung</th><th scope=\"col\">Einheiten</th><th scope=\"col\">Anteil</th><th scope=\"col\">höhere Ebenen</th><th scope=\"col\">Einträge</th><th scope=\"col\">Leistungen</th></tr></thead>\n<tbody>\n"
        let names = Dictionary(services.map { ($0.id.description, $0.name) }, uniquingKeysWith: { first, _ in first })
        for solution in summary.solutions {
            let list = solution.services.map { "\($0) \(names[$0] ?? "")" }.joined(separator: "; ")
            text += "<tr><th scope=\"row\">\(HTML.escape(solution.name))</th><td class=\"n\">\(HTML.number(solution.units))</td><td class=\"n\">\(HTML.percent(solution.share))</td><td class=\"n\">\(HTML.number(solution.higherLevelUnits))</td><td class=\"n\">\(HTML.number(solution.records))</td><td>\(HTML.escape(list))</td></tr>\n"
        }
        return text + "</tbody>\n</table></div>\n</section>\n"
    }

    private func footer() -> String {
        """
        </main>
        <footer>
        <h2>Quellen</h2>
        <ul>
        <li>OZG-Katalog: \(HTML.escape(header.catalogue.name)) (\(HTML.escape(header.catalogue.date))).</li>
        <li>Gebietsstand: \(HTML.escape(header.territory.name)). © Daten (im Auftrag der Herausgebergemeinschaft Statistische Ämter des Bundes und der Länder) Statistisches Bundesamt (Destatis), 2025. Vervielfältigung und Verbreitung, auch auszugsweise, mit Quellenangabe gestattet.</li>
        <li>Karte: Verwaltungsgebiete 1:5 000 000 (VG5000), Stand 01.01.2021, dem Gebietsstand 2025 angepasst, projiziert und vereinfacht. <a href="https://www.bkg.bund.de" rel="noopener noreferrer">© GeoBasis-DE / BKG 2021 (Daten verändert)</a>, Lizenz <a href="https://www.govdata.de/dl-de/by-2-0" rel="noopener noreferrer">Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)</a>.</li>
        </ul>
        <p>Erstellt mit \(HTML.escape(header.generator)) \(HTML.escape(header.version)) am \(HTML.escape(Timestamp.string(header.createdAt))).</p>
        </footer>
        </body>
        </html>

        """
    }
}

/// Percentages as ``ServiceCounts`` computes them (one decimal), for figures summed on the page.
enum ServiceCountsShare {
    static func percent(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : (Double(part) * 1000 / Double(whole)).rounded() / 10
    }
}

extension MaturityModel {
    /// The models in chart order.
    static var allCasesForCharts: [MaturityModel] { [.v1, .v2] }
}
