import Foundation

/// A gate for CI: thresholds on the share online and the Reifegrad, and the records that refer to keys the
/// loaded editions no longer have.
public enum Check {
    /// What to check.
    public struct Options: Sendable {
        /// The scope (the whole country when `nil`).
        public var scope: RegionKey?
        /// Every reporting unit in scope must have at least this share of its relevant services online (percent).
        public var minOnline: Double?
        /// Every online record in scope must have at least this Reifegrad in ``maturityModel``.
        public var minMaturity: Int?
        public var maturityModel: MaturityModel = .v1
        /// Which services count.
        public var filter = ServiceFilter()
        /// Whether services offered online by a unit above count for the Gemeinden below it.
        public var includeHigherLevel = true
        /// At most this many shortfalls are listed (all are counted).
        public var limit = 100

        public init() {}
    }

    /// One thing that falls short.
    public struct Shortfall: Sendable, Hashable, Encodable {
        /// `online-share`, `maturity`, `unknown-region` or `unknown-service`.
        public var kind: String
        public var region: String
        public var regionName: String?
        public var ozgID: String?
        /// The measured value and the threshold (share in percent, Reifegrad).
        public var value: Double?
        public var required: Double?
        /// What is wrong, for people.
        public var message: String
    }

    /// The outcome.
    public struct Result: Sendable, Encodable {
        public var scope: String
        public var units: Int
        public var counts: ServiceCounts
        /// The shortfalls listed (at most the limit).
        public var shortfalls: [Shortfall]
        /// All shortfalls, listed or not.
        public var totalShortfalls: Int
        /// Records whose region or OZG-ID the loaded editions do not have (kept, never dropped).
        public var orphanedRecords: Int
        /// Whether everything holds.
        public var holds: Bool { totalShortfalls == 0 }

        private enum CodingKeys: String, CodingKey {
            case scope, units, counts, shortfalls, totalShortfalls, orphanedRecords, holds
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(scope, forKey: .scope)
            try container.encode(units, forKey: .units)
            try container.encode(counts, forKey: .counts)
            try container.encode(shortfalls, forKey: .shortfalls)
            try container.encode(totalShortfalls, forKey: .totalShortfalls)
            try container.encode(orphanedRecords, forKey: .orphanedRecords)
            try container.encode(holds, forKey: .holds)
        }
    }

    /// Runs the check in one pass over the records in scope.
    public static func run(store: any TrackingStore, catalogue: Catalogue, options: Options) throws -> Result {
        let scope = try RegionScope(options.scope, in: catalogue.regions)
        let services = catalogue.services.services
        let count = services.count
        var shortfalls: [Shortfall] = []
        var total = 0
        func report(_ shortfall: Shortfall) {
            total += 1
            if shortfalls.count < options.limit { shortfalls.append(shortfall) }
        }
        // Per reporting unit: what it has online and what it is not responsible for.
        let units = scope.reportingUnits
        var unitIndex: [String: Int] = [:]
        for (index, unit) in units.enumerated() { unitIndex[unit.key.description] = index }
        // One byte per unit and service: 0 untracked, else status code + 1, plus maturity flags (6 MB nationwide).
        var tallies = [[UInt8]](repeating: [], count: units.count)
        var orphanRegions: [String: Int] = [:]
        var orphanServices: [Int: Int] = [:]
        var orphaned = 0

        let higher = try store.read { reader -> HigherLevelIndex in
            let index = try HigherLevelIndex(reader: reader, catalogue: catalogue, asOf: nil)
            try reader.forEachRecord(prefix: scope.prefix, asOf: nil) { record in
                let key = record.key
                guard scope.contains(key.region) || catalogue.regions.region(key.region) == nil else { return true }
                if catalogue.regions.region(key.region) == nil {
                    orphanRegions[key.region.description, default: 0] += 1
                    orphaned += 1
                    return true
                }
                guard let position = catalogue.services.position(of: key.service) else {
                    orphanServices[key.service.value, default: 0] += 1
                    orphaned += 1
                    return true
                }
                let service = services[position]
                guard options.filter.includes(service) else { return true }
                if let unit = unitIndex[key.region.description] {
                    if tallies[unit].isEmpty { tallies[unit] = [UInt8](repeating: 0, count: count) }
                    tallies[unit][position] = Tally.encode(record.values)
                }
                if let minimum = options.minMaturity, record.values.status == .online {
                    let level = record.values.maturity
                    let model = record.values.maturityModel ?? .v1
                    if level == nil || model != options.maturityModel || (level ?? 0) < minimum {
                        let found = level.map { "Reifegrad \($0) (model \(model.rawValue))" } ?? "no Reifegrad recorded"
                        report(
                            Shortfall(
                                kind: "maturity", region: key.region.description,
                                regionName: catalogue.regions.region(key.region)?.name, ozgID: key.service.description,
                                value: level.map(Double.init), required: Double(minimum),
                                message: "\(service.name) is online with \(found): expected at least \(minimum) in model \(options.maturityModel.rawValue)"))
                    }
                }
                return true
            }
            return index
        }

        var counts = ServiceCounts()
        for (index, unit) in units.enumerated() {
            let above = options.includeHigherLevel ? higher.services(above: unit, count: count) : ServiceSet(count: count)
            var unitCounts = ServiceCounts()
            for (position, service) in services.enumerated() where options.filter.includes(service) {
                let tally = tallies[index].isEmpty ? 0 : tallies[index][position]
                Tally.add(tally, to: &unitCounts, viaHigherLevel: above.contains(position))
            }
            counts.add(unitCounts)
            if let minimum = options.minOnline {
                let share = options.includeHigherLevel ? unitCounts.shareOnlineIncludingHigherLevel : unitCounts.shareOnline
                let online = options.includeHigherLevel ? unitCounts.onlineIncludingHigherLevel : unitCounts.online
                if share < minimum {
                    report(
                        Shortfall(
                            kind: "online-share", region: unit.key.description, regionName: unit.name, ozgID: nil,
                            value: share, required: minimum,
                            message: "\(online) of \(unitCounts.relevant) relevant services online (\(share)%): expected at least \(minimum)%"))
                }
            }
        }
        let former = (try? catalogue.previousTerritories()) ?? []
        for (region, records) in orphanRegions.sorted(by: { $0.key < $1.key }) {
            let key = RegionKey(canonical: region)
            let old = former.lazy.compactMap { territory in territory.region(key).map { ($0, territory.date) } }.first
            let name = old.map { " (\($0.0.name) in the territory edition \($0.1))" } ?? ""
            report(
                Shortfall(
                    kind: "unknown-region", region: region, regionName: old?.0.name, ozgID: nil, value: Double(records),
                    required: nil,
                    message: "\(records) record\(records == 1 ? "" : "s") of region \(region)\(name), which the territory edition "
                        + "\(catalogue.regions.date) does not have: kept; move them to the region that took over"))
        }
        for (service, records) in orphanServices.sorted(by: { $0.key < $1.key }) {
            let id = OZGID(value: service)?.description ?? String(service)
            report(
                Shortfall(
                    kind: "unknown-service", region: "", regionName: nil, ozgID: id, value: Double(records), required: nil,
                    message: "\(records) record\(records == 1 ? "" : "s") of OZG-ID \(id), which the catalogue "
                        + "(\(catalogue.services.edition.date)) does not have: kept"))
        }
        return Result(
            scope: scope.name, units: units.count, counts: counts, shortfalls: shortfalls, totalShortfalls: total,
            orphanedRecords: orphaned)
    }
}

/// A record's status and maturity flags in one byte, for tallies over many units.
enum Tally {
    static func encode(_ values: RecordValues) -> UInt8 {
        var byte = UInt8(values.status.code + 1)
        if values.maturityModel == .v2 { byte |= 0x80 } else if (values.maturity ?? 0) >= 3 { byte |= 0x40 }
        return byte
    }

    static func add(_ byte: UInt8, to counts: inout ServiceCounts, viaHigherLevel: Bool) {
        let status = byte & 0x0F == 0 ? nil : Status(code: Int(byte & 0x0F) - 1)
        counts.add(status: status, atLeast3: byte & 0x40 != 0, model2: byte & 0x80 != 0, viaHigherLevel: viaHigherLevel)
    }
}
