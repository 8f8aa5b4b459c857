/// Per-unit counts of a report's pass: for each reporting unit (by its position in the pass's region list), the
/// figures ``ServiceCounts`` gives for the whole scope. Accumulated for every row of a reporting unit, listed or
/// not, so that exporters that show units side by side (a map, a ranking) count like the summary does.
package struct UnitTally: Sendable {
    /// Services of the unit passing the filter (rows), relevant ones, online own, online including higher level,
    /// Reifegrad ≥ 3 (model 1) — by region position; 0 for units that are not reporting units.
    package private(set) var services: [Int32] = []
    package private(set) var relevant: [Int32] = []
    package private(set) var online: [Int32] = []
    package private(set) var onlineIncludingHigherLevel: [Int32] = []
    package private(set) var maturityAtLeast3: [Int32] = []

    package init() {}

    /// Adds one row of the reporting unit at `region`.
    mutating func add(region: Int32, status: Status?, atLeast3: Bool, viaHigherLevel: Bool) {
        let index = Int(region)
        if index >= services.count {
            let grow = max(index + 1, services.count * 2, 64) - services.count
            for column in [\UnitTally.services, \.relevant, \.online, \.onlineIncludingHigherLevel, \.maturityAtLeast3] {
                self[keyPath: column].append(contentsOf: repeatElement(0, count: grow))
            }
        }
        services[index] += 1
        guard status != .notApplicable else { return }
        relevant[index] += 1
        if status == .online {
            online[index] += 1
            onlineIncludingHigherLevel[index] += 1
        } else if viaHigherLevel {
            onlineIncludingHigherLevel[index] += 1
        }
        if atLeast3 { maturityAtLeast3[index] += 1 }
    }

    /// The counts of the unit at `region` as ``ServiceCounts``-like numbers (zeros when it had no rows).
    package func counts(_ region: Int) -> (services: Int, relevant: Int, online: Int, onlineIncludingHigherLevel: Int, maturityAtLeast3: Int) {
        guard region < services.count else { return (0, 0, 0, 0, 0) }
        return (
            Int(services[region]), Int(relevant[region]), Int(online[region]), Int(onlineIncludingHigherLevel[region]),
            Int(maturityAtLeast3[region])
        )
    }
}
