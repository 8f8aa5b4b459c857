import OZGCore

extension MarkdownExporter {
    /// The trend (online shares at each month's end) and EfA reuse (solutions) as two small tables, or nothing
    /// for an empty history and no solutions.
    static func aggregates(trend: ReportTrend, solutions: [SolutionUsage]) -> String {
        var text = ""
        if !trend.points.isEmpty {
            text += "\n### Verlauf (Stand zum Monatsende)\n\n"
            text += row(["Stand", "relevant", "online eigene", "Anteil", "online einschl. höherer Ebene", "Anteil"])
            text += rule([false, true, true, true, true, true])
            for point in trend.points {
                text += row([
                    point.date.description, String(point.relevant), String(point.online), percent(point.shareOnline),
                    String(point.onlineIncludingHigherLevel), percent(point.shareOnlineIncludingHigherLevel),
                ])
            }
        }
        if !solutions.isEmpty {
            text += "\n### Nachnutzung (EfA): genannte Lösungen\n\n"
            text += row(["Lösung", "Einheiten", "Anteil", "höhere Ebenen", "Einträge", "Leistungen"])
            text += rule([false, true, true, true, true, false])
            for solution in solutions {
                text += row([
                    cell(solution.name), String(solution.units), percent(solution.share), String(solution.higherLevelUnits),
                    String(solution.records), solution.services.joined(separator: ", "),
                ])
            }
        }
        return text
    }
}
