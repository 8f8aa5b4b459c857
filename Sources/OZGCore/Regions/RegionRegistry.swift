import Foundation
import Synchronization

/// The administrative units of one territory edition (Gebietsstand), with lookups by key, name and
/// hierarchy.
public struct RegionRegistry: Sendable {
    /// Where the data comes from.
    public let edition: Edition
    /// The Gebietsstand as `YYYY-MM-DD`, read from the records themselves.
    public let date: String
    /// Every unit, sorted by key (so that the units within a key prefix are contiguous). For the built-in
    /// territory this decodes all 16,000 units on first use; the look-ups below do not need it.
    public var regions: [Region] { storage.decoded.regions }
    private let storage: RegionStorage
    /// Every name folded both ways, computed on the first search (folding 16,000 names takes a while).
    private let foldedNames = FoldedNames()

    /// Creates a registry from units (any order).
    public init(edition: Edition, date: String, regions: [Region]) {
        self.init(edition: edition, date: date, sorted: regions.sorted { $0.key < $1.key })
    }

    private init(edition: Edition, date: String, sorted: [Region]) {
        self.edition = edition
        self.date = date
        self.storage = RegionStorage(sorted: sorted)
    }

    /// A registry over a packed territory (see ``PackedCatalogue``).
    init(edition: Edition, date: String, packed: PackedRegionTable) {
        self.edition = edition
        self.date = date
        self.storage = RegionStorage(packed: packed)
    }

    /// Whether every unit has been decoded (always, except for a packed territory before a command needed them).
    var isDecoded: Bool { storage.decodedIfReady != nil }

    /// Reads a GV100AD file.
    /// - Throws: ``InputError`` naming the file and line of a malformed record.
    public init(gv100ad bytes: UnsafeRawBufferPointer, file: String, edition: Edition) throws(InputError) {
        let result = try GV100ADParser.parse(bytes, file: file)
        self.init(edition: edition, date: result.date, sorted: result.regions)
    }

    /// The number of units at `level`.
    public func count(_ level: RegionLevel) -> Int {
        if let packed = storage.packed, let index = RegionLevel.allCases.firstIndex(of: level) {
            return packed.levelCounts[index]
        }
        let regions = self.regions
        var total = 0
        for index in regions.indices where regions[index].level == level { total += 1 }
        return total
    }

    /// The unit with exactly this canonical key.
    public func region(_ key: RegionKey) -> Region? { region(canonical: key.description) }

    private func region(canonical key: String) -> Region? {
        if let table = storage.tableForLookup { return table.region(key) }
        let decoded = storage.decoded
        return decoded.index[key].map { decoded.regions[$0] }
    }

    /// The units whose key starts with `prefix`, in key order, decoding only those from a packed territory.
    private func units(within prefix: RegionKey) -> [Region] {
        if let table = storage.tableForLookup { return table.units(within: prefix.description) }
        return Array(within(prefix))
    }

    /// The unit a key names, also accepting the zero-padded 8- and 12-digit forms some sources use for
    /// higher levels (`08000000` or `080000000000` for Land 08, `081150000000` for Kreis 08115). A Gemeinde
    /// always wins over a padded reading.
    public func resolve(_ key: RegionKey) -> Region? {
        if let region = region(key) { return region }
        let digits = key.givenARS ?? key.description
        guard digits.utf8.count == 8 || digits.utf8.count == 12 else { return nil }
        if digits.utf8.count == 12 {
            let verband = String(digits.prefix(9))
            if digits.hasSuffix("000"), let region = region(canonical: verband) { return region }
        }
        for length in [5, 3, 2] {
            let prefix = String(digits.prefix(length))
            if digits.dropFirst(length).allSatisfy({ $0 == "0" }), let region = region(canonical: prefix) {
                return region
            }
        }
        return nil
    }

    /// Looks up a key given as text.
    /// - Throws: ``InputError`` when the text is no region key or names no unit of this edition.
    public func resolve(_ text: String) throws(InputError) -> Region {
        let key = try RegionKey(text)
        guard let region = resolve(key) else {
            throw InputError(
                message: "\(text.quotedForMessage) is not in the territory edition \(date): expected a key of the registry "
                    + "(ozgtrack regions search NAME finds one)")
        }
        return region
    }

    /// The units whose key starts with `prefix` (contiguous in key order), including the unit itself.
    public func within(_ prefix: RegionKey) -> ArraySlice<Region> {
        let regions = self.regions
        let text = prefix.description
        var low = 0
        var high = regions.count
        while low < high {
            let middle = (low + high) / 2
            if regions[middle].key.description < text { low = middle + 1 } else { high = middle }
        }
        var upper = low
        while upper < regions.count, regions[upper].key.description.hasPrefix(text) { upper += 1 }
        return regions[low..<upper]
    }

    /// The units directly below `key` in the main hierarchy: the Bezirke or Kreise of a Land, the Kreise of
    /// a Bezirk, the Gemeinden and gemeindefreie Gebiete of a Kreis, the member Gemeinden of a Verband.
    /// Gemeindeverbände group Gemeinden beside this hierarchy; `descendants(of:level:)` lists them.
    public func children(of key: RegionKey) -> [Region] {
        guard let region = region(key) else { return [] }
        if region.level == .verband {
            return units(within: RegionKey(canonical: String(key.description.prefix(5)))).filter { $0.verband == key }
        }
        return units(within: key).filter { $0.parent == key && $0.level != .verband }
    }

    /// The units at `level` that lie within `key` (every level when `level` is `nil`), excluding the unit
    /// itself. For a Gemeindeverband, its member Gemeinden.
    public func descendants(of key: RegionKey?, level: RegionLevel? = nil) -> [Region] {
        guard let key else { return level.map { level in regions.filter { $0.level == level } } ?? regions }
        guard let region = region(key) else { return [] }
        if region.level == .verband {
            return children(of: key).filter { level == nil || $0.level == level }
        }
        return units(within: key).filter { $0.key != key && (level == nil || $0.level == level) }
    }

    /// The chain of units above `key`, nearest first: Gemeindeverband (for a member Gemeinde), Kreis,
    /// Bezirk, Land.
    public func ancestors(of key: RegionKey) -> [Region] {
        guard let region = region(key) else { return [] }
        var chain: [Region] = []
        if let verband = region.verband, verband.description != key.description, let unit = self.region(verband),
            unit.key != key
        {
            chain.append(unit)
        }
        var next = region.parent
        while let parentKey = next, let parent = self.region(parentKey) {
            chain.append(parent)
            next = parent.parent
        }
        return chain
    }

    /// Whether `key` is `scope` or lies within it.
    public func contains(_ scope: RegionKey, _ key: RegionKey) -> Bool {
        if scope == key { return true }
        if let region = region(scope), region.level == .verband {
            return self.region(key)?.verband == scope
        }
        return scope.isPrefix(of: key)
    }

    /// Finds units by name, ignoring case and diacritics ("munchen" and "muenchen" find München), best
    /// matches first: exact names, then names starting with the text, then names containing it; within
    /// each group higher levels first, then larger population.
    public func search(_ text: String, within scope: RegionKey? = nil, limit: Int? = nil) -> [Region] {
        let query = NameFolding.fold(text)
        guard !query.isEmpty else { return [] }
        let regions = self.regions
        let candidates: ArraySlice<Region>
        if let scope, let region = region(scope), region.level != .verband {
            candidates = within(scope)
        } else {
            candidates = regions[...]
        }
        let folded = foldedNames.names(of: regions)
        var matches: [(rank: Int, region: Region)] = []
        for position in candidates.indices {
            let region = regions[position]
            if let scope, !contains(scope, region.key) { continue }
            let rank = NameFolding.rank(of: query, in: folded[position])
            if let rank { matches.append((rank, region)) }
        }
        matches.sort { lhs, rhs in
            if lhs.rank != rhs.rank { return lhs.rank < rhs.rank }
            if lhs.region.level != rhs.region.level { return lhs.region.level < rhs.region.level }
            if lhs.region.population != rhs.region.population { return lhs.region.population > rhs.region.population }
            return lhs.region.key < rhs.region.key
        }
        let found = matches.map(\.region)
        if let limit { return Array(found.prefix(limit)) }
        return found
    }
}

/// The folded names of a registry's regions, computed once and shared by every copy of the registry.
final class FoldedNames: Sendable {
    private let storage = Mutex<[[String]]?>(nil)

    func names(of regions: [Region]) -> [[String]] {
        storage.withLock { cached in
            if let cached { return cached }
            let computed = regions.map { NameFolding.variants($0.name) }
            cached = computed
            return computed
        }
    }
}

/// Case- and diacritic-insensitive name matching for German place names.
enum NameFolding {
    /// Lower case without diacritics; ß becomes ss.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .replacingOccurrences(of: "ß", with: "ss")
    }

    /// The German transliteration (ä → ae, ö → oe, ü → ue, ß → ss), then folded.
    static func transliterate(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "ä", "Ä": out += "ae"
            case "ö", "Ö": out += "oe"
            case "ü", "Ü": out += "ue"
            case "ß": out += "ss"
            default: out.append(character)
            }
        }
        return fold(out)
    }

    /// A name folded both ways (see ``fold(_:)`` and ``transliterate(_:)``).
    static func variants(_ name: String) -> [String] {
        let folded = fold(name)
        let transliterated = transliterate(name)
        return folded == transliterated ? [folded] : [folded, transliterated]
    }

    /// 0 for an exact match, 1 for a prefix (also of the part before the first comma), 2 for a substring;
    /// `nil` for no match. Both spellings of umlauts are tried.
    static func rank(of query: String, in name: String) -> Int? { rank(of: query, in: variants(name)) }

    /// The rank among a name's folded variants.
    static func rank(of query: String, in variants: [String]) -> Int? {
        var best: Int?
        for candidate in variants {
            let main = candidate.split(separator: ",", maxSplits: 1).first.map(String.init) ?? candidate
            let rank: Int?
            if candidate == query || main == query {
                rank = 0
            } else if candidate.hasPrefix(query) {
                rank = 1
            } else if candidate.contains(query) {
                rank = 2
            } else {
                rank = nil
            }
            if let rank, rank < (best ?? Int.max) { best = rank }
        }
        return best
    }
}
