internal import CLibXLSXWriter
import Foundation
import OZGCore

/// The sheets of the trend and EfA-reuse aggregates.
extension XLSXReportWriter {
    /// One month end of the trend.
    struct TrendPoint {
        var date: ISODate
        var relevant: Int
        var online: Int
        var onlineIncludingHigherLevel: Int
    }

    func trendPoints() throws -> [TrendPoint] { [] }

    func writeReuse() throws {
        let sheet = reuse
        let count = try header(sheet, [("Lösung", 40), ("Leistungen", 10), ("Einheiten", 10), ("Anteil der Einheiten", 12)])
        sheet.autofilter(firstRow: 0, lastRow: 0, columns: count)
    }
}
