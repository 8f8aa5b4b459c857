public import Foundation

/// Which services count: all, those of one Themenfeld, the municipal ones.
public struct ServiceFilter: Sendable, Hashable {
    /// A Themenfeld number, or `nil` for all.
    public var themenfeld: Int?
    /// Only services that concern municipalities.
    public var municipalOnly: Bool

    public init(themenfeld: Int? = nil, municipalOnly: Bool = false) {
        self.themenfeld = themenfeld
        self.municipalOnly = municipalOnly
    }

    /// Whether `service` passes.
    public func includes(_ service: OZGService) -> Bool {
        (themenfeld == nil || service.themenfeld == themenfeld) && (!municipalOnly || service.isMunicipal)
    }

    /// The services of `catalogue` that pass, in catalogue order.
    public func services(in catalogue: ServiceCatalogue) -> [OZGService] { catalogue.services.filter(includes) }
}

/// A set of services, as bits over the positions of the catalogue (557 bits: nine words).
public struct ServiceSet: Hashable, Sendable {
    private var words: [UInt64]

    /// An empty set for a catalogue of `count` services.
    public init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    public mutating func insert(_ position: Int) { words[position >> 6] |= 1 << UInt64(position & 63) }

    public func contains(_ position: Int) -> Bool { words[position >> 6] & (1 << UInt64(position & 63)) != 0 }

    /// Adds every member of `other`.
    public mutating func formUnion(_ other: ServiceSet) {
        for index in words.indices { words[index] |= other.words[index] }
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
}

/// The part of the country a command looks at: one unit and everything within it, or the whole country.
public struct RegionScope: Sendable {
    /// The unit, or `nil` for the whole country.
    public let region: Region?
    private let registry: RegionRegistry

    /// The whole country, or the unit `key` names.
    public init(_ key: RegionKey?, in registry: RegionRegistry) throws(InputError) {
        self.registry = registry
        guard let key else {
            region = nil
            return
        }
        guard let region = registry.resolve(key) else {
            throw InputError(
                field: "scope", message: "'\(key)' is not in the territory edition \(registry.date): expected a key of the registry")
        }
        self.region = region
    }

    /// The key prefix that covers the scope in the store (a Verband's Gemeinden share its Kreis prefix).
    public var prefix: String? {
        guard let region else { return nil }
        return region.level == .verband ? String(region.key.description.prefix(5)) : region.key.description
    }

    /// Whether a record of `key` belongs to the scope.
    public func contains(_ key: RegionKey) -> Bool {
        guard let region else { return true }
        if region.level == .verband { return key == region.key || registry.region(key)?.verband == region.key }
        return key.description.hasPrefix(region.key.description)
    }

    /// The units the scope reports on, one row each per service: the unit itself when it is a Gemeinde or a
    /// gemeindefreies Gebiet (or has no Gemeinden below it), else every Gemeinde within it.
    public var reportingUnits: [Region] {
        guard let region else { return registry.regions.filter { $0.level == .gemeinde } }
        if region.level == .gemeinde || region.level == .gemeindefrei { return [region] }
        let gemeinden = registry.descendants(of: region.key, level: .gemeinde)
        return gemeinden.isEmpty ? [region] : gemeinden
    }

    /// A name for people: "Stuttgart, Landeshauptstadt (08111000)" or "Deutschland".
    public var name: String {
        guard let region else { return "Deutschland" }
        return "\(region.name) (\(region.key))"
    }
}

/// Services that units above the Gemeinde level (Verband, Kreis, Bezirk, Land) offer online, so that they count
/// for the Gemeinden below them: a Kreis that offers vehicle registration online offers it for all its Gemeinden.
public struct HigherLevelIndex: Sendable {
    private var online: [String: ServiceSet] = [:]
    private let registry: RegionRegistry

    /// Reads the higher-level records at `asOf`.
    public init(reader: any TrackingReader, catalogue: Catalogue, asOf: Date?) throws {
        registry = catalogue.regions
        let count = catalogue.services.services.count
        var online: [String: ServiceSet] = [:]
        try reader.forEachHigherLevelRecord(asOf: asOf) { record in
            guard record.values.status == .online, let position = catalogue.services.position(of: record.key.service) else {
                return
            }
            online[record.key.region.description, default: ServiceSet(count: count)].insert(position)
        }
        self.online = online
    }

    /// Whether any unit above offers anything online (when not, lookups can be skipped).
    public var isEmpty: Bool { online.isEmpty }

    /// The units above `unit` that offer something online, nearest first.
    public func providers(above unit: Region) -> [(key: RegionKey, services: ServiceSet)] { providers(above: unit.key) }

    /// The units above the unit `key` that offer something online, nearest first.
    public func providers(above key: RegionKey) -> [(key: RegionKey, services: ServiceSet)] {
        guard !online.isEmpty else { return [] }
        return registry.ancestors(of: key).compactMap { ancestor in
            online[ancestor.key.description].map { (ancestor.key, $0) }
        }
    }

    /// Everything the units above `unit` offer online.
    public func services(above unit: Region, count: Int) -> ServiceSet {
        var union = ServiceSet(count: count)
        for provider in providers(above: unit) { union.formUnion(provider.services) }
        return union
    }
}

