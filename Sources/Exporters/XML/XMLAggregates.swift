import OZGCore

extension N {
    static let verlauf: StaticString = "verlauf"
    static let datum: StaticString = "datum"
    static let anteilEigene: StaticString = "anteilEigene"
    static let anteilEinschliesslichHoehererEbene: StaticString = "anteilEinschliesslichHoehererEbene"
    static let nachnutzung: StaticString = "nachnutzung"
    static let einheitenHoehererEbenen: StaticString = "einheitenHoehererEbenen"
}

extension XMLReportBody {
    /// The optional `verlauf` (trend) and `nachnutzung` (EfA reuse) elements at the end of `auswertung`:
    /// both are written whenever the report has them (schema version 1 allows them to be missing, so files of
    /// earlier versions of ozgtrack stay valid).
    func aggregates(trend: ReportTrend, solutions: [SolutionUsage]) throws {
        try writer.newline(2)
        try writer.start(N.verlauf)
        for point in trend.points {
            try writer.newline(3)
            try writer.start(N.stand)
            try writer.attribute(N.datum, point.date)
            try writer.attribute(N.relevant, point.relevant)
            try writer.attribute(N.onlineEigene, point.online)
            try writer.attribute(N.anteilEigene, clean: Self.decimal(point.shareOnline))
            try writer.attribute(N.onlineEinschliesslichHoehererEbene, point.onlineIncludingHigherLevel)
            try writer.attribute(N.anteilEinschliesslichHoehererEbene, clean: Self.decimal(point.shareOnlineIncludingHigherLevel))
            try writer.end()
        }
        if !trend.points.isEmpty { try writer.newline(2) }
        try writer.end()
        try writer.newline(2)
        try writer.start(N.nachnutzung)
        for solution in solutions {
            try writer.newline(3)
            try writer.start(N.loesung)
            try writer.attribute(N.name, solution.name)
            try writer.attribute(N.einheiten, solution.units)
            try writer.attribute(N.anteil, clean: Self.decimal(solution.share))
            try writer.attribute(N.einheitenHoehererEbenen, solution.higherLevelUnits)
            try writer.attribute(N.eintraege, solution.records)
            try writer.attribute(N.leistungen, clean: solution.services.joined(separator: " "))
            try writer.end()
        }
        if !solutions.isEmpty { try writer.newline(2) }
        try writer.end()
    }
}
