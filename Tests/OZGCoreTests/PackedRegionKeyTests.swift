import Testing
import TestSupport

@testable import OZGCore

/// The one packing of region keys into integers: order and prefix ranges must match the key texts.
@Suite("Packed region keys: integer order is text order, a prefix is one range")
struct PackedRegionKeyTests {
    /// Keys of every accepted length, drawn from a fixed-seed generator (reproducible), with the corner digits.
    static let keys: [String] = {
        var generator = SeededGenerator(seed: 0x0_2611)
        var keys: Set<String> = []
        for length in [2, 3, 5, 8, 9] {
            keys.insert(String(repeating: "0", count: length))
            keys.insert(String(repeating: "9", count: length))
            keys.insert("0" + String(repeating: "9", count: length - 1))
        }
        while keys.count < 3_000 {
            let length = [2, 3, 5, 8, 9][Int(generator.next() % 5)]
            // Few leading digits, so that many keys share prefixes.
            var digits = ""
            for position in 0..<length {
                let limit: UInt64 = position < 2 ? 3 : 10
                digits.append(Character(String(generator.next() % limit)))
            }
            keys.insert(digits)
        }
        return keys.sorted()
    }()

    @Test("packing and unpacking give the key back, for every accepted length")
    func roundTrip() throws {
        for text in Self.keys {
            let packed = PackedRegionKey(try RegionKey(text))
            #expect(packed.description == text)
            #expect(packed.length == text.count)
            #expect(PackedRegionKey(rawValue: packed.rawValue) == packed)
            #expect(PackedRegionKey(digits: text) == packed)
        }
    }

    @Test("integer order is the text order of the keys")
    func orderIsTextOrder() throws {
        let packed = try Self.keys.map { PackedRegionKey(try RegionKey($0)) }
        #expect(packed == packed.sorted())
        #expect(Set(packed.map(\.rawValue)).count == packed.count)
    }

    @Test("the keys starting with a prefix are exactly one contiguous integer range", arguments: [1, 2, 3, 4, 5, 8, 9])
    func prefixIsOneRange(length: Int) throws {
        let prefixes = Set(Self.keys.filter { $0.count >= length }.map { String($0.prefix(length)) })
        let packed = try Self.keys.map { ($0, PackedRegionKey(try RegionKey($0)).rawValue) }
        for prefix in prefixes {
            let range = PackedRegionKey.range(prefix: prefix)
            for (text, value) in packed {
                #expect(text.hasPrefix(prefix) == range.contains(value), "\(text) and prefix \(prefix)")
            }
        }
    }

    @Test("an exact range holds the key and nothing else")
    func exactRange() throws {
        let packed = try Self.keys.map { PackedRegionKey(try RegionKey($0)) }
        for key in packed.prefix(200) {
            #expect(packed.filter { key.exactRange.contains($0.rawValue) } == [key])
        }
    }

    @Test("a key's prefix of a shorter length is the key of those digits")
    func prefixKey() throws {
        for text in Self.keys {
            let packed = PackedRegionKey(try RegionKey(text))
            for length in 1...text.count {
                #expect(packed.prefix(length).description == String(text.prefix(length)))
            }
        }
    }

    @Test("a key of eight digits is a Gemeinde; every other length is above it", arguments: [("08", false), ("081", false), ("08111", false), ("08111000", true), ("081115001", false)])
    func gemeindeLevel(key: String, isGemeinde: Bool) throws {
        #expect(PackedRegionKey(try RegionKey(key)).isGemeinde == isGemeinde)
        #expect((try RegionKey(key).lengthLevel == .gemeinde) == isGemeinde)
    }

    @Test("values that are not packed keys are refused", arguments: [0, -16, 16 * 123 + 2, 10, 1_000_000_000 * 16 + 2])
    func invalidRawValues(raw: Int) {
        #expect(PackedRegionKey(rawValue: raw) == nil)
    }

    @Test("digits are packed from their numeric value and length")
    func fromValue() {
        #expect(PackedRegionKey(value: 8111, length: 5).description == "08111")
        #expect(PackedRegionKey(value: 0, length: 2).description == "00")
        #expect(PackedRegionKey(digits: "0811a") == nil)
        #expect(PackedRegionKey(digits: "0811100012") == nil)
    }
}
