import Foundation

/// One solution named in the `solution` field of records in a report's scope (EfA reuse: a service built once
/// and used by many units).
///
/// Solutions are told apart by their text with leading and trailing white space removed (case and inner spaces
/// count); records without a solution, or with only white space, are not counted. Every record in scope of a
/// service passing the filter counts, whatever the status filter, and whatever the record's status.
public struct SolutionUsage: Sendable, Encodable, Hashable {
    /// The solution as recorded (trimmed).
    public var name: String
    /// The OZG-IDs of the services with a record naming it, in catalogue order.
    public var services: [String]
    /// Reporting units (the Gemeinden in scope, or the unit itself) with a record of any service naming it.
    public var units: Int
    /// `units / reporting units in scope`, in percent, rounded to one decimal.
    public var share: Double
    /// Units in scope above the Gemeinde level (Verband, Kreis, Bezirk, Land) with a record naming it.
    public var higherLevelUnits: Int
    /// Records naming it (all units in scope).
    public var records: Int

    public init(name: String, services: [String], units: Int, share: Double, higherLevelUnits: Int, records: Int) {
        self.name = name
        self.services = services
        self.units = units
        self.share = share
        self.higherLevelUnits = higherLevelUnits
        self.records = records
    }
}

/// Counts solutions during a report's pass (rows come unit by unit, so a unit is counted once per solution by
/// remembering the last unit seen).
struct SolutionAccumulator {
    private struct Entry {
        var name: String
        var services: ServiceSet
        var units = 0
        var higherLevelUnits = 0
        var records = 0
        var lastUnit: Int32 = -1
    }

    /// The recorded text (untrimmed) → its entry; texts that trim to nothing map to -1.
    private var index: [String: Int] = [:]
    private var byName: [String: Int] = [:]
    private var entries: [Entry] = []
    private let serviceCount: Int

    init(serviceCount: Int) { self.serviceCount = serviceCount }

    /// Adds one row's record: `region` is its position in the pass's region list, `service` its catalogue position.
    mutating func add(_ solution: String?, region: Int32, service: Int32, reporting: Bool) {
        guard let solution, !solution.isEmpty else { return }
        let position: Int
        if let known = index[solution] {
            position = known
        } else {
            let name = solution.trimmingCharacters(in: .whitespacesAndNewlines)
            if name.isEmpty {
                position = -1
            } else if let existing = byName[name] {
                position = existing
            } else {
                position = entries.count
                byName[name] = position
                entries.append(Entry(name: name, services: ServiceSet(count: serviceCount)))
            }
            index[solution] = position
        }
        guard position >= 0 else { return }
        entries[position].records += 1
        entries[position].services.insert(Int(service))
        if entries[position].lastUnit != region {
            entries[position].lastUnit = region
            if reporting { entries[position].units += 1 } else { entries[position].higherLevelUnits += 1 }
        }
    }

    /// The solutions, most units first (then most records, then by name).
    func result(reportingUnits: Int, services: [OZGService]) -> [SolutionUsage] {
        entries.map { entry in
            SolutionUsage(
                name: entry.name,
                services: services.indices.filter { entry.services.contains($0) }.map { services[$0].id.description },
                units: entry.units, share: ServiceCounts.percent(entry.units, reportingUnits),
                higherLevelUnits: entry.higherLevelUnits, records: entry.records)
        }.sorted {
            ($0.units, $0.records, $1.name) > ($1.units, $1.records, $0.name)
        }
    }
}
