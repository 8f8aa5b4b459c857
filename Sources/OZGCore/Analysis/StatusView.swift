public import Foundation

/// Counts of one unit's services, the way every summary of ozgtrack counts them.
///
/// - *relevant* services are those passing the filter, minus those recorded as `not_applicable`;
/// - *online* counts the unit's own records with status `online`;
/// - *online including higher level* also counts services a unit above (Verband, Kreis, Bezirk, Land)
///   records as online — the dashboard's "offered for this place";
/// - *Reifegrad ≥ 3* counts own records with maturity level 3 or more in model 1 (model 2.0 levels are not
///   comparable and are counted separately).
public struct ServiceCounts: Sendable, Hashable, Encodable {
    /// Services passing the filter.
    public var services = 0
    /// Services with a record in this unit.
    public var tracked = 0
    /// Records per status, by status code (an array: summaries add millions of rows).
    private var perStatus = [Int](repeating: 0, count: Status.allCases.count)
    /// Records per status (English values).
    public var byStatus: [String: Int] {
        Dictionary(uniqueKeysWithValues: Status.allCases.map { ($0.rawValue, perStatus[$0.code]) })
    }

    /// The number of records with `status`.
    public func count(_ status: Status) -> Int { perStatus[status.code] }
    public var notApplicable = 0
    public var online = 0
    public var onlineIncludingHigherLevel = 0
    public var maturityAtLeast3 = 0
    public var maturityModel2 = 0

    public init() {}

    /// Services that count: all that pass the filter, minus those the unit is not responsible for.
    public var relevant: Int { services - notApplicable }
    /// `online / relevant` in percent (0 when nothing is relevant).
    public var shareOnline: Double { Self.percent(online, relevant) }
    /// `onlineIncludingHigherLevel / relevant` in percent.
    public var shareOnlineIncludingHigherLevel: Double { Self.percent(onlineIncludingHigherLevel, relevant) }
    /// `maturityAtLeast3 / relevant` in percent.
    public var shareMaturityAtLeast3: Double { Self.percent(maturityAtLeast3, relevant) }

    static func percent(_ part: Int, _ whole: Int) -> Double {
        whole == 0 ? 0 : (Double(part) * 1000 / Double(whole)).rounded() / 10
    }

    /// Adds one service of the unit.
    public mutating func add(_ values: RecordValues?, viaHigherLevel: Bool) {
        add(
            status: values?.status, atLeast3: values.map { $0.maturityModel != .v2 && ($0.maturity ?? 0) >= 3 } ?? false,
            model2: values?.maturityModel == .v2, viaHigherLevel: viaHigherLevel)
    }

    /// Adds one service of the unit from its status and maturity flags (`nil` status: untracked).
    public mutating func add(status: Status?, atLeast3: Bool, model2: Bool, viaHigherLevel: Bool) {
        services += 1
        guard let status else {
            if viaHigherLevel { onlineIncludingHigherLevel += 1 }
            return
        }
        tracked += 1
        perStatus[status.code] += 1
        switch status {
        case .notApplicable:
            notApplicable += 1
            return
        case .online:
            online += 1
            onlineIncludingHigherLevel += 1
        default:
            if viaHigherLevel { onlineIncludingHigherLevel += 1 }
        }
        if model2 {
            maturityModel2 += 1
        } else if atLeast3 {
            maturityAtLeast3 += 1
        }
    }

    /// Adds another unit's counts.
    public mutating func add(_ other: ServiceCounts) {
        services += other.services
        tracked += other.tracked
        for index in perStatus.indices { perStatus[index] += other.perStatus[index] }
        notApplicable += other.notApplicable
        online += other.online
        onlineIncludingHigherLevel += other.onlineIncludingHigherLevel
        maturityAtLeast3 += other.maturityAtLeast3
        maturityModel2 += other.maturityModel2
    }

    private enum CodingKeys: String, CodingKey {
        case services, tracked, byStatus, notApplicable, relevant, online, onlineIncludingHigherLevel, shareOnline
        case shareOnlineIncludingHigherLevel, maturityAtLeast3, shareMaturityAtLeast3, maturityModel2
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(services, forKey: .services)
        try container.encode(tracked, forKey: .tracked)
        try container.encode(byStatus, forKey: .byStatus)
        try container.encode(notApplicable, forKey: .notApplicable)
        try container.encode(relevant, forKey: .relevant)
        try container.encode(online, forKey: .online)
        try container.encode(onlineIncludingHigherLevel, forKey: .onlineIncludingHigherLevel)
        try container.encode(shareOnline, forKey: .shareOnline)
        try container.encode(shareOnlineIncludingHigherLevel, forKey: .shareOnlineIncludingHigherLevel)
        try container.encode(maturityAtLeast3, forKey: .maturityAtLeast3)
        try container.encode(shareMaturityAtLeast3, forKey: .shareMaturityAtLeast3)
        try container.encode(maturityModel2, forKey: .maturityModel2)
    }
}

/// Every catalogue service with its status in one unit, untracked ones included.
public struct StatusView: Sendable {
    /// One service in the unit.
    public struct Row: Sendable, Hashable {
        public var service: OZGService
        /// The unit's own record, if any.
        public var record: StoredRecord?
        /// The nearest unit above that offers the service online, when the unit's own record is not online.
        public var via: RegionKey?
    }

    public let region: Region
    public let asOf: Date?
    public let rows: [Row]
    public let counts: ServiceCounts

    /// Builds the view from the store.
    public static func make(
        store: any TrackingStore, catalogue: Catalogue, region: Region, filter: ServiceFilter, asOf: Date?
    ) throws -> StatusView {
        try store.read { reader in
            // The unit's records by catalogue position, each built once in its place from the cursor's version and
            // its batch. Records come in OZG-ID order, as the catalogue's services do, so the position is found by
            // walking both (a dictionary by OZG-ID, and records built by the cursor and copied into it, cost about a
            // fifth of an uncached status request of the service: 557 records per Gemeinde).
            let services = catalogue.services.services
            var records = [StoredRecord?](repeating: nil, count: services.count)
            var position = 0
            let cursor = try reader.records(prefix: region.key.description, asOf: asOf)
            let provenance = cursor.provenance
            var batch = (id: -1, at: Date(timeIntervalSince1970: 0), actor: "", source: "")
            while let version = try cursor.nextVersion() {
                guard version.key.region == region.key else { continue }
                let id = version.key.service
                if position >= services.count || services[position].id > id {
                    // Not in order after all: look it up.
                    guard let found = catalogue.services.position(of: id) else { continue }
                    position = found
                }
                while position < services.count && services[position].id < id { position += 1 }
                guard position < services.count && services[position].id == id else { continue }
                if batch.id != version.batch {
                    let info = provenance[version.batch] ?? BatchRow.unknown(version.batch)
                    batch = (version.batch, info.at, info.actor, info.source)
                }
                records[position] = StoredRecord(
                    key: version.key, values: version.values, updatedAt: batch.at, updatedBy: batch.actor, source: batch.source)
            }
            let higher = try HigherLevelIndex(reader: reader, catalogue: catalogue, asOf: asOf)
            let providers = higher.providers(above: region)
            var rows: [Row] = []
            rows.reserveCapacity(services.count)
            var counts = ServiceCounts()
            for (position, service) in services.enumerated() where filter.includes(service) {
                let record = records[position].take()
                var via: RegionKey?
                if record?.values.status != .online {
                    via = providers.first { $0.services.contains(position) }?.key
                }
                rows.append(Row(service: service, record: record, via: via))
                counts.add(record?.values, viaHigherLevel: via != nil)
            }
            return StatusView(region: region, asOf: asOf, rows: rows, counts: counts)
        }
    }
}
