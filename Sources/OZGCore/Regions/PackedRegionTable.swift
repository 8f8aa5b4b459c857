import Synchronization

/// The units of a packed territory edition (see ``PackedCatalogue``), looked up without decoding them all.
///
/// The lines are in key order, so a unit is found by a binary search over byte offsets (about 14 probes for
/// 16,000 units), and the units within a key prefix are a run of lines. Only the units a command touches become
/// ``Region`` values: `ozgtrack regions show` decodes a handful, where reading the registry decoded 16,000
/// (see docs/performance.md, "CLI start-up").
struct PackedRegionTable: @unchecked Sendable {
    // @unchecked: `bytes` points into a string literal compiled into the library, immutable for the process.
    let bytes: UnsafeRawBufferPointer
    /// Where the first unit's line starts.
    let body: Int
    /// The number of units, and the number per level (in the order of `RegionLevel.allCases`).
    let count: Int
    let levelCounts: [Int]

    /// The unit with exactly this key.
    func region(_ key: String) -> Region? {
        let start = lowerBound(key)
        guard start < bytes.count, compareKey(at: start, with: key) == 0 else { return nil }
        return decode(at: start)
    }

    /// The units whose key starts with `prefix`, in key order.
    func units(within prefix: String) -> [Region] {
        var result: [Region] = []
        var start = lowerBound(prefix)
        let prefixBytes = Array(prefix.utf8)
        while start < bytes.count, hasPrefix(at: start, prefixBytes) {
            let (region, next) = decodeLine(at: start)
            result.append(region)
            start = next
        }
        return result
    }

    /// Every unit, in key order.
    func all() -> [Region] {
        var result: [Region] = []
        result.reserveCapacity(count)
        var start = body
        while start < bytes.count {
            let (region, next) = decodeLine(at: start)
            result.append(region)
            start = next
        }
        return result
    }

    /// The start of the first line whose key is not less than `key`, or the end.
    private func lowerBound(_ key: String) -> Int {
        var low = body
        var high = bytes.count
        while low < high {
            let middle = (low + high) / 2
            var lineStart = middle
            while lineStart > low && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
            if compareKey(at: lineStart, with: key) < 0 {
                var next = lineStart
                while next < bytes.count && bytes[next] != 0x0A { next += 1 }
                low = next + 1
            } else {
                high = lineStart
            }
        }
        return min(low, bytes.count)
    }

    /// Compares the key of the line at `start` (up to its first tab) with `key`, byte by byte.
    private func compareKey(at start: Int, with key: String) -> Int {
        var position = start
        for byte in key.utf8 {
            guard position < bytes.count, bytes[position] != 0x09 else { return -1 }
            if bytes[position] != byte { return bytes[position] < byte ? -1 : 1 }
            position += 1
        }
        return position < bytes.count && bytes[position] != 0x09 ? 1 : 0
    }

    private func hasPrefix(at start: Int, _ prefix: [UInt8]) -> Bool {
        guard start + prefix.count <= bytes.count else { return false }
        for (offset, byte) in prefix.enumerated() where bytes[start + offset] != byte { return false }
        return true
    }

    private func decode(at start: Int) -> Region { decodeLine(at: start).region }

    /// The unit of the line at `start`, and where the next line starts. The packed text is compiled into the
    /// library and proven equal to the plain files by `PackedCatalogueTests`; a line that does not decode is a
    /// build defect, not input.
    private func decodeLine(at start: Int) -> (region: Region, next: Int) {
        let (fields, next) = PackedReader.fields(bytes, at: start)
        guard fields.count == 11, let level = RegionLevel(rawValue: fields[1]), let population = Int(fields[7]),
            let area = Int(fields[8])
        else {
            preconditionFailure("the built-in packed territory is damaged at byte \(start): rebuild after scripts/pack-catalogue.sh")
        }
        func key(_ field: String) -> RegionKey? { field.isEmpty ? nil : RegionKey(canonical: field) }
        let region = Region(
            key: RegionKey(canonical: fields[0]), level: level, textCode: Int(fields[2]), name: fields[3],
            seat: PackedReader.optional(fields[4]), parent: key(fields[5]), verband: key(fields[6]), population: population,
            areaHectares: area, postcode: PackedReader.optional(fields[9]), ars: PackedReader.optional(fields[10]))
        return (region, next)
    }
}

/// The units of a registry: either all decoded (read from a GV100AD file or given), or a packed table that is
/// decoded as a whole only when a caller needs every unit, or has looked up so many that a table of all pays.
final class RegionStorage: Sendable {
    /// Every unit in key order, with the position of each key.
    final class Decoded: Sendable {
        let regions: [Region]
        let index: [String: Int]

        init(_ sorted: [Region]) {
            regions = sorted
            var index: [String: Int] = [:]
            index.reserveCapacity(sorted.count)
            for (position, region) in sorted.enumerated() { index[region.key.description] = position }
            self.index = index
        }
    }

    let packed: PackedRegionTable?
    /// The decoded units once there are any: read without a lock on every look-up (an acquiring load is a
    /// plain load on x86 and ARM64), built under `building` once.
    private let published = Atomic<Unmanaged<Decoded>?>(nil)
    private let building = Mutex<Void>(())
    /// Look-ups answered from the packed table so far; past ``decodeAfter`` the whole table is decoded, so that
    /// a command looking up every record's region (check, import) gets the dictionary.
    private let lookups = Atomic<Int>(0)
    static let decodeAfter = 256

    init(sorted: [Region]) {
        packed = nil
        published.store(Unmanaged.passRetained(Decoded(sorted)), ordering: .releasing)
    }

    init(packed: PackedRegionTable) { self.packed = packed }

    deinit { published.load(ordering: .acquiring)?.release() }

    /// The decoded units, if they are decoded already.
    var decodedIfReady: Decoded? { published.load(ordering: .acquiring)?.takeUnretainedValue() }

    /// The decoded units, decoding them now if needed.
    var decoded: Decoded {
        if let ready = decodedIfReady { return ready }
        return building.withLock { _ in
            if let ready = decodedIfReady { return ready }
            let decoded = Decoded(packed?.all() ?? [])
            published.store(Unmanaged.passRetained(decoded), ordering: .releasing)
            return decoded
        }
    }

    /// The packed table to answer one look-up from, or `nil` when the decoded units should be used.
    var tableForLookup: PackedRegionTable? {
        guard let packed, decodedIfReady == nil else { return nil }
        if lookups.wrappingAdd(1, ordering: .relaxed).newValue > Self.decodeAfter { return nil }
        return packed
    }
}
