internal import CLibXLSXWriter
import Foundation
import OZGCore

/// The sheets written from the aggregates, after the rows.
extension XLSXReportWriter {
    /// A number with German thousands separators (1.048.576).
    static func german(_ value: Int) -> String {
        let digits = Array(String(value))
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "." }
            result.append(digit)
        }
        return result
    }

    /// A share as a fraction (shown in percent format): exact, not rounded like the text formats' percent values.
    static func fraction(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }

    /// A header row with widths, frozen, returning the number of columns.
    @discardableResult
    func header(_ sheet: XLSXSheet, _ columns: [(String, Double)], row: Int = 0, freeze: Bool = true) throws(XLSXError) -> Int {
        for (index, column) in columns.enumerated() {
            try sheet.text(row, index, column.0, formats.header)
            sheet.column(index, width: column.1, format: nil)
        }
        if freeze { sheet.freeze(rows: row + 1) }
        return columns.count
    }

    /// The status columns of a ``ServiceCounts``, in the order of the chart's bars.
    static let statusColumns: [(label: String, status: Status?)] = [
        ("online", .online), ("in Umsetzung", .inProgress), ("geplant", .planned), ("nicht begonnen", .notStarted),
        ("nicht zuständig", .notApplicable), ("nicht erfasst", nil),
    ]

    static func count(_ counts: ServiceCounts, _ status: Status?) -> Int {
        status.map { counts.count($0) } ?? (counts.services - counts.tracked)
    }

    func writeThemenfelder(_ summary: ReportSummary) throws {
        let sheet = themenfelder
        let columns: [(String, Double)] =
            [("Nr.", 5), ("Themenfeld", 34), ("Einheiten × Leistungen", 12), ("erfasst", 10)]
            + Self.statusColumns.map { ($0.label, 11) }
            + [
                ("relevant", 10), ("Anteil online (eigene)", 11), ("online (einschl. höherer Ebene)", 12),
                ("Anteil online (einschl. höherer Ebene)", 12), ("Reifegrad ≥ 3", 10), ("Anteil Reifegrad ≥ 3", 11),
            ]
        let count = try header(sheet, columns)
        for (index, field) in summary.themenfelder.enumerated() {
            let row = index + 1
            let counts = field.counts
            try sheet.number(row, 0, Double(field.number))
            try sheet.text(row, 1, field.name)
            try sheet.number(row, 2, Double(counts.services), formats.integer)
            try sheet.number(row, 3, Double(counts.tracked), formats.integer)
            for (offset, column) in Self.statusColumns.enumerated() {
                try sheet.number(row, 4 + offset, Double(Self.count(counts, column.status)), formats.integer)
            }
            try sheet.number(row, 10, Double(counts.relevant), formats.integer)
            try sheet.number(row, 11, Self.fraction(counts.online, counts.relevant), formats.percent)
            try sheet.number(row, 12, Double(counts.onlineIncludingHigherLevel), formats.integer)
            try sheet.number(row, 13, Self.fraction(counts.onlineIncludingHigherLevel, counts.relevant), formats.percent)
            try sheet.number(row, 14, Double(counts.maturityAtLeast3), formats.integer)
            try sheet.number(row, 15, Self.fraction(counts.maturityAtLeast3, counts.relevant), formats.percent)
        }
        sheet.autofilter(firstRow: 0, lastRow: summary.themenfelder.count, columns: count)
    }

    static func coverage(_ value: CoverageClass) -> String {
        switch value {
        case .flaechendeckend: "flächendeckend"
        case .mindestensEine: "mindestens eine"
        case .keine: "keine"
        }
    }

    func writeServices(_ summary: ReportSummary) throws {
        let sheet = services
        let names = Dictionary(report.catalogue.services.themenfelder.map { ($0.number, $0.name) }, uniquingKeysWith: { a, _ in a })
        let count = try header(
            sheet,
            [
                ("OZG-ID", 8), ("Leistung", 50), ("Themenfeld", 8), ("Themenfeld (Name)", 30), ("Einheiten", 10),
                ("relevant", 10), ("online (eigene)", 10), ("Anteil (eigene)", 10), ("Abdeckung (eigene)", 16),
                ("online (einschl. höherer Ebene)", 12), ("Anteil (einschl. höherer Ebene)", 12),
                ("Abdeckung (einschl. höherer Ebene)", 16),
            ])
        for (index, service) in summary.services.enumerated() {
            let row = index + 1
            try sheet.text(row, 0, service.ozgID)
            try sheet.text(row, 1, service.name)
            try sheet.number(row, 2, Double(service.themenfeld))
            try sheet.text(row, 3, names[service.themenfeld] ?? "")
            try sheet.number(row, 4, Double(service.units), formats.integer)
            try sheet.number(row, 5, Double(service.relevantUnits), formats.integer)
            try sheet.number(row, 6, Double(service.onlineOwn), formats.integer)
            try sheet.number(row, 7, Self.fraction(service.onlineOwn, service.relevantUnits), formats.percent)
            try sheet.text(row, 8, Self.coverage(service.classOwn))
            try sheet.number(row, 9, Double(service.onlineIncludingHigherLevel), formats.integer)
            try sheet.number(row, 10, Self.fraction(service.onlineIncludingHigherLevel, service.relevantUnits), formats.percent)
            try sheet.text(row, 11, Self.coverage(service.classIncludingHigherLevel))
        }
        sheet.autofilter(firstRow: 0, lastRow: summary.services.count, columns: count)
    }

    /// The figure columns shared by Einheiten and Kreise, from `first` on.
    static let figureColumns: [(String, Double)] = [
        ("Leistungen", 10), ("erfasst", 9), ("relevant", 9), ("online (eigene)", 10), ("Anteil (eigene)", 10),
        ("online (einschl. höherer Ebene)", 12), ("Anteil (einschl. höherer Ebene)", 12), ("in Umsetzung", 10),
        ("geplant", 9), ("nicht begonnen", 10), ("nicht zuständig", 10), ("nicht erfasst", 10), ("Reifegrad ≥ 3", 10),
    ]

    func writeFigures(_ sheet: XLSXSheet, row: Int, from first: Int, _ counts: ServiceCounts) throws(XLSXError) {
        let values: [(Double, UnsafeMutablePointer<lxw_format>)] = [
            (Double(counts.services), formats.integer), (Double(counts.tracked), formats.integer),
            (Double(counts.relevant), formats.integer), (Double(counts.online), formats.integer),
            (Self.fraction(counts.online, counts.relevant), formats.percent),
            (Double(counts.onlineIncludingHigherLevel), formats.integer),
            (Self.fraction(counts.onlineIncludingHigherLevel, counts.relevant), formats.percent),
            (Double(counts.count(.inProgress)), formats.integer), (Double(counts.count(.planned)), formats.integer),
            (Double(counts.count(.notStarted)), formats.integer), (Double(counts.count(.notApplicable)), formats.integer),
            (Double(counts.services - counts.tracked), formats.integer), (Double(counts.maturityAtLeast3), formats.integer),
        ]
        for (offset, value) in values.enumerated() { try sheet.number(row, first + offset, value.0, value.1) }
    }

    /// The Kreis a reporting unit lies in (its key's first five digits), when the scope spans several Kreise.
    func kreis(of region: Region) -> Region? {
        let key = region.key.description
        guard key.count >= 5, let kreisKey = try? RegionKey(String(key.prefix(5))) else { return nil }
        return report.catalogue.regions.region(kreisKey)
    }

    func writeUnits() throws {
        let sheet = units
        let withKreis = kreise != nil
        var columns: [(String, Double)] = [("Schlüssel (AGS/ARS)", 14), ("Name", 30), ("Ebene", 12)]
        if withKreis { columns += [("Kreis", 8), ("Kreis (Name)", 28)] }
        let first = columns.count
        columns += Self.figureColumns
        let count = try header(sheet, columns)
        var row = 0
        var perKreis: [String: (region: Region?, units: Int, counts: ServiceCounts)] = [:]
        var kreisOrder: [String] = []
        for (position, counts) in unitCounts.enumerated() {
            guard let counts else { continue }
            let region = regionList[position]
            row += 1
            try sheet.text(row, 0, region.key.description)
            try sheet.text(row, 1, region.name)
            try sheet.text(row, 2, region.level.germanName)
            if withKreis {
                let kreis = kreis(of: region)
                let key = kreis?.key.description ?? String(region.key.description.prefix(5))
                try sheet.text(row, 3, key)
                try sheet.text(row, 4, kreis?.name ?? "")
                if perKreis[key] == nil {
                    kreisOrder.append(key)
                    perKreis[key] = (kreis, 0, ServiceCounts())
                }
                perKreis[key]?.units += 1
                perKreis[key]?.counts.add(counts)
            }
            try writeFigures(sheet, row: row, from: first, counts)
        }
        sheet.autofilter(firstRow: 0, lastRow: row, columns: count)
        guard let kreise else { return }
        let kreisCount = try header(
            kreise, [("Kreis", 8), ("Name", 30), ("Gemeinden", 10)] + Self.figureColumns)
        for (index, key) in kreisOrder.enumerated() {
            guard let entry = perKreis[key] else { continue }
            try kreise.text(index + 1, 0, key)
            try kreise.text(index + 1, 1, entry.region?.name ?? "")
            try kreise.number(index + 1, 2, Double(entry.units), formats.integer)
            try writeFigures(kreise, row: index + 1, from: 3, entry.counts)
        }
        kreise.autofilter(firstRow: 0, lastRow: kreisOrder.count, columns: kreisCount)
    }

    func writeTrend() throws {
        let sheet = trend
        let count = try header(
            sheet,
            [
                ("Monatsende", 12), ("relevant", 11), ("online (eigene)", 11), ("Anteil (eigene)", 11),
                ("online (einschl. höherer Ebene)", 13), ("Anteil (einschl. höherer Ebene)", 13),
            ])
        let points = try trendPoints()
        for (index, point) in points.enumerated() {
            let row = index + 1
            try sheet.number(row, 0, ExcelDate.serial(point.date), formats.date)
            try sheet.number(row, 1, Double(point.relevant), formats.integer)
            try sheet.number(row, 2, Double(point.online), formats.integer)
            try sheet.number(row, 3, Self.fraction(point.online, point.relevant), formats.percent)
            try sheet.number(row, 4, Double(point.onlineIncludingHigherLevel), formats.integer)
            try sheet.number(row, 5, Self.fraction(point.onlineIncludingHigherLevel, point.relevant), formats.percent)
        }
        sheet.autofilter(firstRow: 0, lastRow: points.count, columns: count)
        guard !points.isEmpty else { return }
        let chart = try workbook.chart(LXW_CHART_LINE)
        for (column, name) in [(3, "online (eigene)"), (5, "online (einschl. höherer Ebene)")] {
            guard let series = chart_add_series(chart, nil, nil) else { continue }
            chart_series_set_categories(series, sheet.name, 1, 0, lxw_row_t(points.count), 0)
            chart_series_set_values(series, sheet.name, 1, lxw_col_t(column), lxw_row_t(points.count), lxw_col_t(column))
            chart_series_set_name(series, name)
        }
        chart_title_set_name(chart, "Anteil online am Monatsende")
        chart_axis_set_num_format(chart.pointee.y_axis, "0%")
        chart_axis_set_min(chart.pointee.y_axis, 0)
        chart_axis_set_num_format(chart.pointee.x_axis, "mm.yyyy")
        chart_legend_set_position(chart, UInt8(LXW_CHART_LEGEND_BOTTOM.rawValue))
        try sheet.insert(chart, row: 1, column: 7, scale: (1.6, 1.4))
    }

    func writeOverview(_ summary: ReportSummary) throws {
        let sheet = overview
        let header = report.header
        let catalogue = report.catalogue.services
        sheet.columns([44, 80, 12])
        try sheet.text(0, 0, "OZG-Umsetzungsstand: \(header.scope.name)\(header.scope.key.map { " (\($0))" } ?? "")", formats.title)
        var row = 2
        try sheet.text(row, 0, "Angabe", formats.header)
        try sheet.text(row, 1, "Wert", formats.header)
        func fact(_ label: String, _ value: String) throws(XLSXError) {
            row += 1
            try sheet.text(row, 0, label, formats.bold)
            try sheet.text(row, 1, value, formats.wrap)
        }
        let level = header.scope.level == "bund" ? "Bund" : (RegionLevel(rawValue: header.scope.level)?.germanName ?? header.scope.level)
        try fact("Bereich", "\(header.scope.name)\(header.scope.key.map { " (\($0))" } ?? "") – \(level)")
        try fact("Berichtseinheiten", "\(header.units)")
        try fact("Stand", header.asOf.map { "Stichtag \(Timestamp.string($0)) (Ende des Tages, UTC)" } ?? "aktueller Stand")
        var services = "\(header.services) OZG-Leistungen"
        if let number = header.themenfeld { services += ", Themenfeld \(number) \(catalogue.themenfeld(number)?.name ?? "")" }
        if header.municipalOnly { services += ", nur kommunale (LeiKa-Typ 2/3, 3, 4, 5)" }
        try fact("Leistungen", services)
        try fact(
            "Zeilen",
            header.statuses.map { "nur Status \($0.joined(separator: ", ")) (die Kennzahlen zählen alle Zeilen)" }
                ?? "alle Zeilen")
        try fact("OZG-Katalog", "\(header.catalogue.name) (\(header.catalogue.date))")
        try fact("Gebietsstand", "\(header.territory.name) (\(header.territory.date))")
        row += 1
        try sheet.text(row, 0, "Erstellt", formats.bold)
        try sheet.number(row, 1, ExcelDate.serial(header.createdAt), formats.dateTime)
        try fact("Erzeugt mit", "\(header.generator) \(header.version)")
        try fact("Herkunft der Einträge", header.provenance ? "mit (geändert am, von, Quelle)" : "ohne (für die Veröffentlichung)")
        let total = dataSheets.reduce(0) { $0 + $1.rows }
        let names = dataSheets.map(\.name)
        try fact(
            "Datenblätter",
            names.count == 1
                ? "\(total) Zeilen auf dem Blatt \(names[0])"
                : "\(total) Zeilen auf den Blättern \(names.joined(separator: ", ")): ein Blatt fasst höchstens "
                    + "\(Self.german(rowsPerSheet)) Zeilen (mit der Kopfzeile), die Zeilen gehen auf dem nächsten Blatt weiter")
        let unlinked = dataSheets.filter { $0.unlinked > 0 }
        try fact(
            "URLs",
            unlinked.isEmpty
                ? "als Hyperlinks"
                : "als Hyperlinks, bis zu \(Self.german(linkLimit)) je Blatt (Excel fasst höchstens 65.530 je Blatt, je Link "
                    + "2.079 Zeichen; nur http- und https-Adressen); als Text: "
                    + unlinked.map { "\($0.unlinked) auf \($0.name)" }.joined(separator: ", "))
        try fact("Zeiten", "Datumsangaben als Datum, Änderungszeitpunkte in UTC")
        row += 1
        try fact("Zählweise", Self.countingRuleGerman)
        try fact("Counting rule", header.counting)

        row += 2
        let tableStart = row
        try sheet.text(row, 0, "Kennzahl", formats.header)
        try sheet.text(row, 1, "Anzahl", formats.header)
        try sheet.text(row, 2, "Anteil", formats.header)
        let overall = summary.overall
        func figure(_ label: String, _ value: Int, share: Double? = nil, bold: Bool = false) throws(XLSXError) {
            row += 1
            try sheet.text(row, 0, label, bold ? formats.bold : nil)
            try sheet.number(row, 1, Double(value), bold ? formats.boldInteger : formats.integer)
            if let share { try sheet.number(row, 2, share, bold ? formats.boldPercent : formats.percent) }
        }
        try figure("Einheiten × Leistungen", overall.services)
        try figure("erfasst", overall.tracked)
        for column in Self.statusColumns { try figure("– \(column.label)", Self.count(overall, column.status)) }
        try figure("relevant", overall.relevant)
        try figure("online (eigene)", overall.online, share: Self.fraction(overall.online, overall.relevant), bold: true)
        try figure(
            "online (einschl. höherer Ebene)", overall.onlineIncludingHigherLevel,
            share: Self.fraction(overall.onlineIncludingHigherLevel, overall.relevant), bold: true)
        try figure("Reifegrad ≥ 3 (Modell 1)", overall.maturityAtLeast3, share: Self.fraction(overall.maturityAtLeast3, overall.relevant))
        try figure("Reifegrad nach Modell 2 (nicht vergleichbar)", overall.maturityModel2)
        for bucket in summary.maturity {
            try figure("Reifegrad \(bucket.level) (Modell \(bucket.model))", bucket.count)
        }
        try figure("Einträge übergeordneter Einheiten", summary.higherLevelRows)
        try figure("Einträge ohne Leistung oder Einheit im Katalog", summary.orphanedRecords)
        sheet.autofilter(firstRow: tableStart, lastRow: row, columns: 3)

        // The status per Themenfeld as stacked bars, from the Themenfelder sheet.
        let fields = summary.themenfelder.count
        guard fields > 0 else { return }
        let chart = try workbook.chart(LXW_CHART_BAR_STACKED)
        let colours: [lxw_color_t] = [0x1B7837, 0x5AAE61, 0xA6DBA0, 0xC2A5CF, 0xBDBDBD, 0xE7E7E7]
        for (offset, column) in Self.statusColumns.enumerated() {
            guard let series = chart_add_series(chart, nil, nil) else { continue }
            chart_series_set_categories(series, themenfelder.name, 1, 1, lxw_row_t(fields), 1)
            chart_series_set_values(series, themenfelder.name, 1, lxw_col_t(4 + offset), lxw_row_t(fields), lxw_col_t(4 + offset))
            chart_series_set_name(series, column.label)
            var fill = lxw_chart_fill(color: colours[offset], none: 0, transparency: 0)
            chart_series_set_fill(series, &fill)
        }
        chart_title_set_name(chart, "Status je Themenfeld")
        chart_axis_set_reverse(chart.pointee.y_axis)
        chart_legend_set_position(chart, UInt8(LXW_CHART_LEGEND_BOTTOM.rawValue))
        try sheet.insert(chart, row: 2, column: 4, scale: (1.8, 2.0))
    }

    /// The counting rule in German (``ReportHeader/countingRule`` is the English original, also on the sheet).
    static let countingRuleGerman =
        "Zeilen: jede Berichtseinheit (jede Gemeinde im Bereich oder die Einheit selbst) × jede Leistung, auch nicht "
        + "erfasste, dazu die Einträge anderer Einheiten im Bereich (Land, Bezirk, Kreis, Gemeindeverband). „eigene“ "
        + "zählt die Einträge der Einheit selbst; „einschl. höherer Ebene“ zählt auch Leistungen, die eine übergeordnete "
        + "Einheit (Gemeindeverband, Kreis, Bezirk, Land) online anbietet. Relevant sind die Leistungen ohne die als "
        + "„nicht zuständig“ erfassten; Anteile = online / relevant. Reifegrad ≥ 3 zählt Stufen des Modells 1. "
        + "Abdeckung je Leistung: flächendeckend, wenn online in jeder relevanten Einheit, mindestens eine, wenn in "
        + "wenigstens einer, sonst keine. Die Kennzahlen zählen alle Berichtseinheiten, welcher Statusfilter auch gilt."
}
