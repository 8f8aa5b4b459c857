internal import CLibXLSXWriter
import Foundation
import OZGCore

/// The sheets of the trend and EfA-reuse aggregates.
extension XLSXReportWriter {
    /// The online shares at each month's end (counted during the rows' pass, ``writeRows()``).
    func trendPoints() throws -> [ReportTrend.Point] { try report.trend().points }

    func writeReuse(_ summary: ReportSummary) throws {
        let sheet = reuse
        let count = try header(
            sheet,
            [
                ("Lösung", 40), ("Berichtseinheiten", 12), ("Anteil der Berichtseinheiten", 13), ("übergeordnete Einheiten", 13),
                ("Einträge", 10), ("Leistungen", 10), ("OZG-IDs", 40),
            ])
        let units = report.header.units
        for (index, solution) in summary.solutions.enumerated() {
            let row = index + 1
            try sheet.text(row, 0, solution.name)
            try sheet.number(row, 1, Double(solution.units), formats.integer)
            try sheet.number(row, 2, Self.fraction(solution.units, units), formats.percent)
            try sheet.number(row, 3, Double(solution.higherLevelUnits), formats.integer)
            try sheet.number(row, 4, Double(solution.records), formats.integer)
            try sheet.number(row, 5, Double(solution.services.count), formats.integer)
            try sheet.text(row, 6, solution.services.joined(separator: ", "))
        }
        sheet.autofilter(firstRow: 0, lastRow: summary.solutions.count, columns: count)
    }
}
