/// Where one part of the reference data comes from: the catalogue folder's `editions.csv` says it for
/// every file, and every output that depends on the data names the edition.
public struct Edition: Sendable, Hashable, Codable {
    /// `ozg` for the service catalogue, `regions` for a territory edition.
    public var part: String
    /// The path within the catalogue folder (`ozg/` or `regions/GV100AD_30112025.txt`).
    public var path: String
    /// A human name of the edition.
    public var name: String
    /// The date the edition describes (`YYYY-MM-DD`).
    public var date: String
    /// Where the data comes from.
    public var source: String
    /// The licence or attribution terms the data comes with.
    public var licence: String

    public init(part: String, path: String, name: String, date: String, source: String, licence: String) {
        self.part = part
        self.path = path
        self.name = name
        self.date = date
        self.source = source
        self.licence = licence
    }
}

/// Changes between two territory editions, by key.
public struct TerritoryChanges: Sendable {
    /// A unit whose name differs between the editions.
    public struct Renamed: Sendable, Hashable {
        public var key: RegionKey
        public var oldName: String
        public var newName: String
    }

    /// Units of the older edition whose key the newer one no longer has (merged or dissolved).
    public var removed: [Region]
    /// Units of the newer edition whose key the older one did not have.
    public var added: [Region]
    /// Units with the same key and a different name.
    public var renamed: [Renamed]
}

extension RegionRegistry {
    /// What changed from `older` to this edition, for the given levels (all levels by default).
    public func changes(since older: RegionRegistry, levels: Set<RegionLevel> = Set(RegionLevel.allCases))
        -> TerritoryChanges
    {
        let mine = regions.filter { levels.contains($0.level) }
        let theirs = older.regions.filter { levels.contains($0.level) }
        let removed = theirs.filter { region($0.key) == nil }
        let added = mine.filter { older.region($0.key) == nil }
        var renamed: [TerritoryChanges.Renamed] = []
        for unit in mine {
            if let before = older.region(unit.key), before.name != unit.name {
                renamed.append(.init(key: unit.key, oldName: before.name, newName: unit.name))
            }
        }
        return TerritoryChanges(removed: removed, added: added, renamed: renamed)
    }

    /// The keys among `keys` that this edition does not have (in input order, without repeats): records that
    /// refer to them must not vanish silently.
    public func missingKeys(_ keys: some Sequence<RegionKey>) -> [RegionKey] {
        var seen = Set<RegionKey>()
        var missing: [RegionKey] = []
        for key in keys where region(key) == nil && seen.insert(key).inserted { missing.append(key) }
        return missing
    }
}
