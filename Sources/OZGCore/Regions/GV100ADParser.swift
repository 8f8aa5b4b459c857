import Foundation

/// Reads Destatis' Gemeindeverzeichnis in the fixed-width GV100AD layout.
///
/// The layout (Datensatzbeschreibung GV100AD, valid since 14.06.2000 and unchanged in the 2021 and 2025
/// editions) counts positions in characters, not bytes: names are UTF-8 since Sorbian names were added.
/// Positions used (1-based, inclusive): 1–2 Satzart, 3–10 Gebietsstand, 11–12 Land, 13 Regierungsbezirk,
/// 14–15 Kreis, 16–18 Gemeinde, 19–22 Gemeindeverband, 23–72 name, 73–122 seat, 123–124 Textkennzeichen,
/// 129–139 area (ha), 140–150 population, 166–170 postcode. Satzart 30 (the twelve planning regions of
/// Baden-Württemberg) is not an administrative level and is skipped. Lines may be shorter than 220
/// characters (trailing blanks removed by some tools); CRLF and LF line ends are both accepted.
///
/// The registry is read at every start of the tool, so this parser works on bytes: no per-character
/// `String` work, keys packed into integers while assembling (measured: start-up fell from 190 to
/// well under 100 ms; see docs/performance.md).
public enum GV100ADParser {
    /// The result of reading one GV100AD file.
    public struct Result: Sendable {
        /// The Gebietsstand of every record, as `YYYY-MM-DD`.
        public var date: String
        /// The units, sorted by key, with populations of higher levels summed up.
        public var regions: [Region]
    }

    /// Parses a GV100AD file.
    /// - Parameters:
    ///   - bytes: the file's contents (UTF-8).
    ///   - file: the file's name for error messages.
    /// - Throws: ``InputError`` naming the file, line and field of the first malformed record.
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError) -> Result {
        var records: [RawRecord] = []
        records.reserveCapacity(16_100)
        var firstStand: (value: Int, text: String)?
        var lineNumber = 0
        var start = 0
        let count = bytes.count
        guard let base = bytes.baseAddress else {
            throw InputError(file: file, message: "the file is empty: expected GV100AD records")
        }
        while start < count {
            lineNumber += 1
            var end = count
            if let found = memchr(base + start, 0x0A, count - start) { end = base.distance(to: UnsafeRawPointer(found)) }
            var contentEnd = end
            if contentEnd > start && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            defer { start = end + 1 }
            if contentEnd == start { continue }
            let line = FixedWidthLine(UnsafeRawBufferPointer(rebasing: bytes[start..<contentEnd]), file: file, line: lineNumber)
            guard let record = try parseLine(line) else { continue }
            if let firstStand {
                if firstStand.value != record.stand {
                    throw line.fail(
                        "Gebietsstand",
                        "'\(line.raw(3, 10))' differs from '\(firstStand.text)' of the first record: expected one edition per file")
                }
            } else {
                firstStand = (record.stand, line.raw(3, 10))
            }
            records.append(record)
        }
        guard let firstStand else {
            throw InputError(file: file, message: "no GV100AD records found: expected a GV100AD file")
        }
        let stand = firstStand.text
        let date = "\(stand.prefix(4))-\(stand.dropFirst(4).prefix(2))-\(stand.suffix(2))"
        guard ISODate(date) != nil else {
            throw InputError(
                file: file, line: records.first?.line, field: "Gebietsstand",
                message: "'\(stand)' at positions 3-10: expected a date YYYYMMDD")
        }
        return Result(date: date, regions: try assemble(records, file: file))
    }

    struct RawRecord {
        var satzart: Int
        var stand: Int
        /// The canonical key and the same key packed into an integer.
        var key: String
        var packed: PackedRegionKey
        var verband: String?
        var verbandPacked: PackedRegionKey?
        var ars: String?
        var name: String
        var seat: String?
        var textCode: Int?
        var area = 0
        var population = 0
        var postcode: String?
        var line: Int
    }

    /// Packs a key's numeric value and length into one integer, for cheap hashing and sorting while assembling.
    private static func pack(_ value: Int, length: Int) -> PackedRegionKey { PackedRegionKey(value: value, length: length) }

    /// One line of the file, cut by the character positions of the record layout.
    ///
    /// Only the name (23–72) and the seat (73–122) may hold multi-byte characters; everything else is ASCII.
    /// So the byte offsets of positions 72 and 122 are found once, and every other position follows from
    /// them without a per-character table.
    struct FixedWidthLine {
        let bytes: UnsafeRawBufferPointer
        let file: String
        let line: Int
        /// Byte offsets of the ends of the name (character 72) and the seat (character 122).
        private let nameEnd: Int
        private let seatEnd: Int
        /// Whether the line reaches character 72 (the end of the name field).
        let hasName: Bool

        init(_ bytes: UnsafeRawBufferPointer, file: String, line: Int) {
            self.bytes = bytes
            self.file = file
            self.line = line
            // Most lines are pure ASCII in the name and seat fields: then character = byte.
            var ascii = bytes.count >= 122
            if ascii {
                for index in 22..<122 where bytes[index] >= 0x80 {
                    ascii = false
                    break
                }
            }
            if ascii {
                nameEnd = 72
                seatEnd = 122
                hasName = true
                return
            }
            func advance(from start: Int, characters count: Int) -> (offset: Int, counted: Int) {
                var offset = start
                var counted = 0
                while counted < count && offset < bytes.count {
                    offset += 1
                    while offset < bytes.count && bytes[offset] & 0xC0 == 0x80 { offset += 1 }
                    counted += 1
                }
                return (offset, counted)
            }
            let name = advance(from: min(22, bytes.count), characters: 50)
            nameEnd = name.offset
            seatEnd = advance(from: name.offset, characters: 50).offset
            hasName = bytes.count >= 22 && name.counted == 50
        }

        /// The byte offset where character `position` (0-based) starts.
        private func offset(_ position: Int) -> Int {
            let value: Int
            switch position {
            case ...22: value = position
            case 72: value = nameEnd
            case 122: value = seatEnd
            case 123...: value = seatEnd + (position - 122)
            default: value = position  // not a field boundary of the layout
            }
            return min(value, bytes.count)
        }

        /// The bytes of positions `from` … `to` (1-based, inclusive); missing trailing positions are empty.
        func slice(_ from: Int, _ to: Int, trim: Bool = false) -> UnsafeRawBufferPointer {
            var lower = offset(from - 1)
            var upper = max(lower, offset(to))
            if trim {
                while upper > lower && bytes[upper - 1] == 0x20 { upper -= 1 }
                while lower < upper && bytes[lower] == 0x20 { lower += 1 }
            }
            return UnsafeRawBufferPointer(rebasing: bytes[lower..<upper])
        }

        /// The positions as text, for messages.
        func raw(_ from: Int, _ to: Int) -> String { String(decoding: slice(from, to), as: UTF8.self) }

        func fail(_ field: String?, _ message: String) -> InputError {
            InputError(file: file, line: line, field: field, message: message)
        }

        /// Trimmed text of a field.
        func text(_ from: Int, _ to: Int) throws(InputError) -> String {
            guard let text = UTF8Text.string(slice(from, to, trim: true)) else {
                throw fail(nil, "positions \(from)-\(to) are not valid UTF-8: expected UTF-8 text")
            }
            return text
        }

        /// The numeric value of a field that must be all digits.
        func digits(_ from: Int, _ to: Int, name: String) throws(InputError) -> Int {
            let value = slice(from, to)
            var result = 0
            for byte in value {
                guard byte >= 0x30, byte <= 0x39 else { break }
                result = result * 10 + Int(byte - 0x30)
            }
            guard value.count == to - from + 1, value.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw fail(name, "\(raw(from, to).quotedForMessage) at positions \(from)-\(to): expected \(to - from + 1) digits")
            }
            return result
        }

        /// A right-aligned number; blank reads as 0.
        func integer(_ from: Int, _ to: Int, name: String) throws(InputError) -> Int {
            var result = 0
            for byte in slice(from, to, trim: true) {
                guard byte >= 0x30, byte <= 0x39, result < Int.max / 100 else {
                    throw fail(name, "\(raw(from, to).quotedForMessage) at positions \(from)-\(to): expected a number")
                }
                result = result * 10 + Int(byte - 0x30)
            }
            return result
        }

        /// ASCII text made of up to three position ranges (already checked to be digits), without
        /// intermediate arrays: keys are built this way for every record.
        func joined(_ a: (Int, Int), _ b: (Int, Int)? = nil, _ c: (Int, Int)? = nil) -> String {
            let empty = UnsafeRawBufferPointer(rebasing: bytes[0..<0])
            let first = slice(a.0, a.1)
            let second = b.map { slice($0.0, $0.1) } ?? empty
            let third = c.map { slice($0.0, $0.1) } ?? empty
            return String(unsafeUninitializedCapacity: first.count + second.count + third.count) { buffer in
                guard let target = buffer.baseAddress else { return 0 }
                var offset = 0
                func copy(_ part: UnsafeRawBufferPointer) {
                    guard let source = part.baseAddress, !part.isEmpty else { return }
                    memcpy(target + offset, source, part.count)
                    offset += part.count
                }
                copy(first)
                copy(second)
                copy(third)
                return offset
            }
        }
    }

    private static func parseLine(_ line: FixedWidthLine) throws(InputError) -> RawRecord? {
        guard line.hasName else {
            throw line.fail(nil, "the line is too short: expected the GV100AD layout of 220 characters")
        }
        let satzart = try line.integer(1, 2, name: "Satzart")
        guard satzart % 10 == 0, (10...60).contains(satzart), line.slice(1, 2).count == 2 else {
            throw line.fail("Satzart", "\(line.raw(1, 2).quotedForMessage) at positions 1-2: expected 10, 20, 30, 40, 50 or 60")
        }
        if satzart == 30 { return nil }
        let stand = try line.digits(3, 10, name: "Gebietsstand")
        let land = try line.digits(11, 12, name: "Land")
        let name = try line.text(23, 72)
        if name.isEmpty { throw line.fail("Name", "empty at positions 23-72: expected a name") }
        var record = RawRecord(
            satzart: satzart, stand: stand, key: line.joined((11, 12)), packed: pack(land, length: 2), name: name,
            line: line.line)
        switch satzart {
        case 10:
            break
        case 20:
            record.packed = pack(try line.digits(11, 13, name: "Regierungsbezirk"), length: 3)
            record.key = line.joined((11, 13))
        case 40:
            record.packed = pack(try line.digits(11, 15, name: "Kreis"), length: 5)
            record.key = line.joined((11, 15))
        case 50:
            let kreis = try line.digits(11, 15, name: "Kreis")
            let verband = try line.digits(19, 22, name: "Gemeindeverband")
            record.packed = pack(kreis * 10_000 + verband, length: 9)
            record.key = line.joined((11, 15), (19, 22))
        default:
            let kreis = try line.digits(11, 15, name: "AGS")
            let gemeinde = try line.digits(16, 18, name: "AGS")
            let verband = try line.digits(19, 22, name: "Gemeindeverband")
            record.packed = pack(kreis * 1_000 + gemeinde, length: 8)
            record.key = line.joined((11, 18))
            record.verband = line.joined((11, 15), (19, 22))
            record.verbandPacked = pack(kreis * 10_000 + verband, length: 9)
            record.ars = line.joined((11, 15), (19, 22), (16, 18))
            record.area = try line.integer(129, 139, name: "Fläche")
            record.population = try line.integer(140, 150, name: "Bevölkerung")
            let postcode = try line.text(166, 170)
            record.postcode = postcode.isEmpty ? nil : postcode
        }
        if satzart < 60 {
            let seat = try line.text(73, 122)
            record.seat = seat.isEmpty ? nil : seat
        }
        if satzart >= 40 {
            let value = try line.integer(123, 124, name: "Textkennzeichen")
            guard Region.textCodeNames[value] != nil, value / 10 == satzart / 10 else {
                throw line.fail(
                    "Textkennzeichen",
                    "\(line.raw(123, 124).quotedForMessage) at positions 123-124: expected a Textkennzeichen of Satzart \(satzart)")
            }
            record.textCode = value
        }
        return record
    }

    private struct Totals {
        var population = 0
        var area = 0

        mutating func add(_ population: Int, _ area: Int) {
            self.population += population
            self.area += area
        }
    }

    private static func assemble(_ records: [RawRecord], file: String) throws(InputError) -> [Region] {
        var positions: [PackedRegionKey: Int] = [:]
        positions.reserveCapacity(records.count)
        var totals: [PackedRegionKey: Totals] = [:]
        totals.reserveCapacity(5_200)
        for (position, record) in records.enumerated() {
            if let first = positions.updateValue(position, forKey: record.packed) {
                throw InputError(
                    file: file, line: record.line, field: "Schlüssel",
                    message: "'\(record.key)' appears again (first on line \(records[first].line)): expected each key once")
            }
            if record.satzart == 60 {
                // Four look-ups written out: an array literal here would be allocated for every Gemeinde.
                totals[record.packed.prefix(2), default: Totals()].add(record.population, record.area)
                totals[record.packed.prefix(3), default: Totals()].add(record.population, record.area)
                totals[record.packed.prefix(5), default: Totals()].add(record.population, record.area)
                if let verband = record.verbandPacked { totals[verband, default: Totals()].add(record.population, record.area) }
            }
        }
        // Key order (file order puts a Kreis's Verbände before its Gemeinden; text order puts them after).
        // Sorted by packed keys: they order exactly like the key texts, and compare far faster than strings
        // (every command loads the registry at start).
        let sortKeys = records.map(\.packed.rawValue)
        let order = records.indices.sorted { sortKeys[$0] < sortKeys[$1] }
        var regions: [Region] = []
        regions.reserveCapacity(records.count)
        for index in order {
            let record = records[index]
            // The nearest existing unit above: a few special units (the German-Luxembourgish condominium
            // 07000999, the gemeindefreies Gebiet of M-V 13000998) belong to no Kreis, only to their Land.
            func nearest(_ lengths: (Int, Int, Int)) -> String? {
                func at(_ length: Int) -> String? {
                    guard length > 0, let position = positions[record.packed.prefix(length)] else { return nil }
                    return records[position].key
                }
                return at(lengths.0) ?? at(lengths.1) ?? at(lengths.2)
            }
            let parent: String?
            let level: RegionLevel
            switch record.satzart {
            case 10:
                level = .land
                parent = nil
            case 20:
                level = .bezirk
                parent = nearest((2, 0, 0))
            case 40:
                level = .kreis
                parent = nearest((3, 2, 0))
            case 50:
                level = .verband
                parent = nearest((5, 3, 2))
            default:
                level = record.textCode == 65 || record.textCode == 66 ? .gemeindefrei : .gemeinde
                parent = nearest((5, 3, 2))
            }
            if record.satzart != 10 && parent == nil {
                throw InputError(
                    file: file, line: record.line, field: "Schlüssel",
                    message: "'\(record.key)' belongs to Land '\(record.key.prefix(2))', which the file does not contain: "
                        + "expected its record")
            }
            var verband: RegionKey?
            if let code = record.verband {
                guard let packed = record.verbandPacked, positions[packed] != nil else {
                    throw InputError(
                        file: file, line: record.line, field: "Gemeindeverband",
                        message: "'\(code)' of Gemeinde '\(record.key)' has no Gemeindeverband record: expected one")
                }
                verband = RegionKey(canonical: code)
            }
            let summed = record.satzart != 60
            let total = summed ? totals[record.packed] ?? Totals() : Totals(population: record.population, area: record.area)
            regions.append(
                Region(
                    key: RegionKey(canonical: record.key), level: level, textCode: record.textCode, name: record.name,
                    seat: record.seat, parent: parent.map { RegionKey(canonical: $0) }, verband: verband,
                    population: total.population, areaHectares: total.area, postcode: record.postcode, ars: record.ars))
        }
        return regions
    }
}
