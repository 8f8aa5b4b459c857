public import Foundation

/// What a report covers.
public struct ReportQuery: Sendable {
    /// The scope: a Gemeinde, a Kreis with its Gemeinden, a Land, or the whole country (`nil`).
    public var scope: RegionKey?
    /// The state at this time, from the history (`nil`: now).
    public var asOf: Date?
    /// Which services: a Themenfeld, municipal only.
    public var filter: ServiceFilter
    /// Which rows are listed, by status (`nil`: all). Aggregates always cover every row of the scope.
    public var statuses: Set<RowStatus>?
    /// Whether rows carry who changed a record when and from where (off for reports published outside).
    public var provenance: Bool
    /// The time written into the header; `nil` for now. (A caller wanting reproducible output passes a fixed time,
    /// e.g. the CLI the one in `SOURCE_DATE_EPOCH`.)
    public var createdAt: Date?

    public init(
        scope: RegionKey? = nil, asOf: Date? = nil, filter: ServiceFilter = ServiceFilter(), statuses: Set<RowStatus>? = nil,
        provenance: Bool = true, createdAt: Date? = nil
    ) {
        self.scope = scope
        self.asOf = asOf
        self.filter = filter
        self.statuses = statuses
        self.provenance = provenance
        self.createdAt = createdAt
    }
}

/// A row's status for filtering: a recorded status, or no record at all.
public enum RowStatus: Hashable, Sendable, CaseIterable {
    case recorded(Status)
    case untracked

    public static var allCases: [RowStatus] { Status.allCases.map(RowStatus.recorded) + [.untracked] }

    /// `online`, `not_started`, … or `untracked`.
    public var name: String {
        switch self {
        case .recorded(let status): status.rawValue
        case .untracked: "untracked"
        }
    }

    /// Parses a status word (English or German) or `untracked`.
    public init(parsing text: String) throws(InputError) {
        if ["untracked", "nicht erfasst"].contains(text.lowercased()) {
            self = .untracked
            return
        }
        do {
            self = .recorded(try Status(parsing: text))
        } catch {
            throw InputError(
                message: "\(text.quotedForMessage) is not a status: expected \(Status.allCases.map(\.rawValue).joined(separator: ", ")) or untracked")
        }
    }
}

/// The header of a report: what it is, from which data, about what.
public struct ReportHeader: Sendable, Encodable {
    public struct Scope: Sendable, Encodable {
        /// The region key, or `nil` for the whole country.
        public var key: String?
        public var name: String
        /// `land`, `kreis`, … or `bund` for the whole country.
        public var level: String
    }

    public var generator: String
    public var version: String
    public var createdAt: Date
    /// The OZG catalogue's edition.
    public var catalogue: Edition
    /// The territory edition.
    public var territory: Edition
    public var scope: Scope
    public var asOf: Date?
    public var themenfeld: Int?
    public var municipalOnly: Bool
    /// The statuses of the rows listed, or `nil` for all.
    public var statuses: [String]?
    public var provenance: Bool
    /// The number of reporting units (Gemeinden in scope, or the unit itself).
    public var units: Int
    /// The number of services passing the filter.
    public var services: Int
    /// How rows and aggregates count, in words (repeated in every format).
    public var counting: String

    /// The counting rule every format states.
    public static let countingRule =
        "Rows: every reporting unit (each Gemeinde in scope, or the unit itself) × every service, untracked ones "
        + "included, plus the records of other units in scope (Land, Bezirk, Kreis, Gemeindeverband). \"own\" counts a "
        + "unit's own records; \"including higher level\" also counts a service that a unit above it (Gemeindeverband, "
        + "Kreis, Bezirk, Land) records as online. Relevant services exclude those recorded as not_applicable; shares "
        + "are online / relevant. Reifegrad ≥ 3 counts model-1 levels. Coverage per service: flaechendeckend when "
        + "online in every relevant unit, mindestens_eine when online in at least one, keine otherwise. Aggregates "
        + "cover all reporting units whatever the status filter."
}

/// One row of a report: a service in a unit, with the unit's own record (if any).
public struct ReportRow: Sendable {
    /// The unit.
    public var region: Region
    /// Whether the unit is a reporting unit (part of the grid every aggregate counts) rather than a unit with
    /// records of its own (a Kreis, a Land).
    public var isReportingUnit: Bool
    public var service: OZGService
    /// The unit's own record; `nil` when untracked.
    public var record: StoredRecord?
    /// The nearest unit above that offers the service online, when the unit's own record is not online.
    public var via: RegionKey?
    /// Whether the row passes the status filter (rows that do not still count in the aggregates).
    var isListed = true

    public init(region: Region, isReportingUnit: Bool, service: OZGService, record: StoredRecord?, via: RegionKey?) {
        self.region = region
        self.isReportingUnit = isReportingUnit
        self.service = service
        self.record = record
        self.via = via
    }

    /// Online by the unit's own record.
    public var isOnline: Bool { record?.values.status == .online }
    /// Online by the unit's own record or through a unit above.
    public var isOnlineIncludingHigherLevel: Bool { isOnline || via != nil }
    /// The row's status for filtering.
    public var rowStatus: RowStatus { record.map { .recorded($0.values.status) } ?? .untracked }
}

/// How widely a service is online across a scope (the dashboard's classification).
public enum CoverageClass: String, Sendable, Encodable {
    /// Online in every relevant reporting unit.
    case flaechendeckend
    /// Online in at least one.
    case mindestensEine = "mindestens_eine"
    /// Online nowhere.
    case keine
}

/// One service across the reporting units of a scope.
public struct ServiceCoverage: Sendable, Encodable {
    public var ozgID: String
    public var name: String
    public var themenfeld: Int
    /// Reporting units in scope.
    public var units: Int
    /// Units that did not record the service as not_applicable.
    public var relevantUnits: Int
    public var onlineOwn: Int
    public var onlineIncludingHigherLevel: Int
    public var shareOwn: Double { ServiceCounts.percent(onlineOwn, relevantUnits) }
    public var shareIncludingHigherLevel: Double { ServiceCounts.percent(onlineIncludingHigherLevel, relevantUnits) }
    public var classOwn: CoverageClass { Self.classify(onlineOwn, relevantUnits) }
    public var classIncludingHigherLevel: CoverageClass { Self.classify(onlineIncludingHigherLevel, relevantUnits) }

    static func classify(_ online: Int, _ relevant: Int) -> CoverageClass {
        if online == 0 { return .keine }
        return online >= relevant ? .flaechendeckend : .mindestensEine
    }

    private enum CodingKeys: String, CodingKey {
        case ozgID, name, themenfeld, units, relevantUnits, onlineOwn, onlineIncludingHigherLevel, shareOwn
        case shareIncludingHigherLevel, classOwn, classIncludingHigherLevel
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ozgID, forKey: .ozgID)
        try container.encode(name, forKey: .name)
        try container.encode(themenfeld, forKey: .themenfeld)
        try container.encode(units, forKey: .units)
        try container.encode(relevantUnits, forKey: .relevantUnits)
        try container.encode(onlineOwn, forKey: .onlineOwn)
        try container.encode(onlineIncludingHigherLevel, forKey: .onlineIncludingHigherLevel)
        try container.encode(shareOwn, forKey: .shareOwn)
        try container.encode(shareIncludingHigherLevel, forKey: .shareIncludingHigherLevel)
        try container.encode(classOwn, forKey: .classOwn)
        try container.encode(classIncludingHigherLevel, forKey: .classIncludingHigherLevel)
    }
}

/// The aggregates of a report, over its reporting units.
public struct ReportSummary: Sendable, Encodable {
    public struct ThemenfeldCounts: Sendable, Encodable {
        public var number: Int
        public var name: String
        public var counts: ServiceCounts
    }

    public struct MaturityBucket: Sendable, Encodable, Hashable {
        public var model: Int
        public var level: Int
        public var count: Int
    }

    /// All reporting units × services.
    public var overall: ServiceCounts
    /// Per Themenfeld (those with services passing the filter), by number.
    public var themenfelder: [ThemenfeldCounts]
    /// Own records per maturity model and level (records without a Reifegrad are not counted).
    public var maturity: [MaturityBucket]
    /// Per service, in catalogue order.
    public var services: [ServiceCoverage]
    /// Records in scope whose region or OZG-ID the loaded editions do not have (kept; `check` lists them).
    public var orphanedRecords: Int
    /// Rows of units that are not reporting units (records of a Kreis, a Land …).
    public var higherLevelRows: Int
    /// EfA reuse: the solutions named in records in scope, most units first (see ``SolutionUsage``).
    public var solutions: [SolutionUsage] = []
}
