import Foundation

/// Adds rows of reporting units to the aggregates of a report.
struct ReportAggregator {
    private let report: Report
    private var overall = ServiceCounts()
    private var perThemenfeld: [ServiceCounts]
    private var themenfeldSeen: [Bool]
    private var maturity = [Int](repeating: 0, count: 3 * 16)
    private var coverage: [ServiceCoverage]
    /// The position of each catalogue service in `coverage` (-1 when filtered out), and its Themenfeld.
    private let coverageIndex: [Int32]
    private let themenfeld: [Int]
    private var solutions: SolutionAccumulator
    private(set) var units = UnitTally()

    init(report: Report) {
        self.report = report
        solutions = SolutionAccumulator(serviceCount: report.catalogue.services.services.count)
        let fields = (report.catalogue.services.themenfelder.map(\.number).max() ?? 0) + 1
        perThemenfeld = [ServiceCounts](repeating: ServiceCounts(), count: fields)
        themenfeldSeen = [Bool](repeating: false, count: fields)
        coverage = report.services.map {
            ServiceCoverage(
                ozgID: $0.service.id.description, name: $0.service.name, themenfeld: $0.service.themenfeld, units: 0,
                relevantUnits: 0, onlineOwn: 0, onlineIncludingHigherLevel: 0)
        }
        var index = [Int32](repeating: -1, count: report.catalogue.services.services.count)
        for (position, entry) in report.services.enumerated() { index[entry.position] = Int32(position) }
        coverageIndex = index
        themenfeld = report.catalogue.services.services.map(\.themenfeld)
    }

    /// Counts a row of a reporting unit; `version` is the unit's own (read in place, not copied).
    mutating func add(_ row: CompactRow, version: UnsafePointer<StoredVersion>?, viaHigherLevel viaHigher: Bool) {
        let status = version?.pointee.values.status
        let maturity = version?.pointee.values.maturity
        let maturityModel = version?.pointee.values.maturityModel
        let atLeast3 = version != nil && maturityModel != .v2 && (maturity ?? 0) >= 3
        let model2 = maturityModel == .v2
        overall.add(status: status, atLeast3: atLeast3, model2: model2, viaHigherLevel: viaHigher)
        units.add(region: row.region, status: status, atLeast3: atLeast3, viaHigherLevel: viaHigher)
        let field = themenfeld[Int(row.service)]
        if field >= 0 && field < perThemenfeld.count {
            perThemenfeld[field].add(status: status, atLeast3: atLeast3, model2: model2, viaHigherLevel: viaHigher)
            themenfeldSeen[field] = true
        }
        if let level = maturity, level < 16 {
            self.maturity[(maturityModel ?? .v1).rawValue * 16 + level] += 1
        }
        let position = Int(coverageIndex[Int(row.service)])
        guard position >= 0 else { return }
        solutions.add(version?.pointee.values.solution, region: row.region, service: row.service, reporting: true)
        coverage[position].units += 1
        if status != .notApplicable {
            coverage[position].relevantUnits += 1
            if status == .online { coverage[position].onlineOwn += 1 }
            if status == .online || viaHigher { coverage[position].onlineIncludingHigherLevel += 1 }
        }
    }

    /// Counts a row of a unit above the reporting units (only its solution: see ``SolutionUsage``).
    mutating func addHigherLevel(_ row: CompactRow, version: UnsafePointer<StoredVersion>?) {
        solutions.add(version?.pointee.values.solution, region: row.region, service: row.service, reporting: false)
    }

    func summary(orphaned: Int, higherLevelRows: Int) -> ReportSummary {
        let fields = report.catalogue.services
        let themenfelder = perThemenfeld.indices.filter { themenfeldSeen[$0] }.map { number in
            ReportSummary.ThemenfeldCounts(number: number, name: fields.themenfeld(number)?.name ?? "", counts: perThemenfeld[number])
        }
        let buckets = maturity.indices.filter { maturity[$0] > 0 }.map {
            ReportSummary.MaturityBucket(model: $0 / 16, level: $0 % 16, count: maturity[$0])
        }
        var summary = ReportSummary(
            overall: overall, themenfelder: themenfelder, maturity: buckets, services: coverage, orphanedRecords: orphaned,
            higherLevelRows: higherLevelRows)
        summary.solutions = solutions.result(reportingUnits: report.header.units, services: report.catalogue.services.services)
        return summary
    }
}
