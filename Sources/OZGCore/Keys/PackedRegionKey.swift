/// A region key packed into one integer: the key's digits padded with zeros to nine, times 16, plus the key's
/// length. The one packing of region keys in ozgtrack — the store's column, the import's duplicate detection and
/// the territory parser's look-ups all use it.
///
/// Integers make rows smaller and comparisons cheaper than text, and this packing keeps both properties that
/// sorting and range reads rely on:
/// - **integer order equals the text order of the keys** (`"08" < "081" < "08111" < "08111000" < "081115001"`);
/// - **the keys starting with a prefix form one contiguous range**, ``range(prefix:)``: shorter keys that only
///   look like they start with it after padding (Land `02` for the prefix `02000`) fall below the range's lower
///   end, which adds the prefix's length.
///
/// Keys have at most nine digits (a 12-digit ARS is stored as its 8-digit AGS), so every packed key is below
/// 10⁹ × 16 < 2³⁴.
public struct PackedRegionKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The packed value: `digits padded to nine × 16 + length`.
    public let rawValue: Int

    /// The longest key that can be packed.
    public static let maxLength = 9

    /// 10⁰ … 10⁹.
    static let powers: [Int] = (0...9).map { exponent in
        (0..<exponent).reduce(1) { product, _ in product * 10 }
    }

    /// Packs a region key.
    public init(_ key: RegionKey) {
        self.init(uncheckedDigits: key.description)
    }

    /// Packs a string of one to nine ASCII digits; `nil` for anything else.
    public init?(digits text: some StringProtocol) {
        let count = text.utf8.count
        guard count >= 1, count <= Self.maxLength, Digits.all(text) else { return nil }
        self.init(uncheckedDigits: text)
    }

    /// Packs digits the caller has checked (one to nine ASCII digits).
    init(uncheckedDigits text: some StringProtocol) {
        var value = 0
        var count = 0
        for byte in text.utf8 {
            value = value &* 10 &+ Int(byte &- 0x30)
            count += 1
        }
        rawValue = value * Self.powers[Self.maxLength - count] * 16 + count
    }

    /// Packs the key whose digits, read as a number, are `value` and which has `length` digits (leading zeros
    /// included): `PackedRegionKey(value: 8111, length: 5)` is the key `08111`.
    /// - Precondition: `1 ≤ length ≤ 9` and `0 ≤ value < 10^length` (checked by the callers, which build
    ///   `value` from digits they validated).
    public init(value: Int, length: Int) {
        precondition((1...Self.maxLength).contains(length) && value >= 0 && value < Self.powers[length], "not a key")
        rawValue = value * Self.powers[Self.maxLength - length] * 16 + length
    }

    /// A packed value as stored; `nil` when it is not one this type produces (length 1–9, no digits beyond it).
    public init?(rawValue: Int) {
        let length = rawValue & 15
        guard rawValue >= 0, (1...Self.maxLength).contains(length) else { return nil }
        let padded = rawValue >> 4
        guard padded < Self.powers[Self.maxLength], padded % Self.powers[Self.maxLength - length] == 0 else { return nil }
        self.rawValue = rawValue
    }

    /// The number of digits of the key.
    public var length: Int { rawValue & 15 }

    /// The key's digits read as a number (without the padding).
    public var value: Int { (rawValue >> 4) / Self.powers[Self.maxLength - length] }

    /// Whether the key names a Gemeinde (eight digits); records of every other length belong to units above the
    /// Gemeinde level (Land, Regierungsbezirk, Kreis, Gemeindeverband), whose services count for the Gemeinden
    /// below them.
    public var isGemeinde: Bool { length == 8 }

    /// The key's digits.
    public var description: String {
        var value = self.value
        var digits = [UInt8](repeating: 0x30, count: length)
        var index = length - 1
        while index >= 0 {
            digits[index] = UInt8(0x30 + value % 10)
            value /= 10
            index -= 1
        }
        return String(decoding: digits, as: UTF8.self)
    }

    /// The region key (valid when the packed key was made from one).
    public var regionKey: RegionKey { RegionKey(canonical: description) }

    /// The key made of the first `length` digits (the key itself when it is not longer).
    public func prefix(_ length: Int) -> PackedRegionKey {
        let own = self.length
        guard length < own, length >= 1 else { return self }
        return PackedRegionKey(value: value / Self.powers[own - length], length: length)
    }

    /// The half-open range of packed keys whose text starts with `prefix` (one to nine digits; a longer prefix
    /// is cut to nine, an empty one covers every key). Keys shorter than the prefix are outside it.
    public static func range(prefix: some StringProtocol) -> Range<Int> {
        let length = min(maxLength, prefix.utf8.count)
        guard length > 0 else { return 0..<Int.max }
        var value = 0
        for byte in prefix.utf8.prefix(length) { value = value &* 10 &+ Int(byte &- 0x30) }
        let low = value * powers[maxLength - length]
        return (low * 16 + length)..<((low + powers[maxLength - length]) * 16)
    }

    /// The range holding exactly this key.
    public var exactRange: Range<Int> { rawValue..<(rawValue + 1) }

    public static func < (lhs: PackedRegionKey, rhs: PackedRegionKey) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Packs region keys once per run of one region: rows and versions come region by region, and packing each row's
/// region was 2 % of a national import's client samples (`perf record`, 5,988,307 rows).
package struct RegionPacker {
    private var last: (key: RegionKey, packed: PackedRegionKey)?

    package init() {}

    package mutating func packed(_ region: RegionKey) -> PackedRegionKey {
        if let last, last.key == region { return last.packed }
        let packed = PackedRegionKey(region)
        last = (region, packed)
        return packed
    }
}
