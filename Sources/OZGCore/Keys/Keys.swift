/// Digits-only validation shared by the key types.
enum Digits {
    /// Whether `text` consists of exactly `count` ASCII digits.
    static func match(_ text: some StringProtocol, count: Int) -> Bool {
        var seen = 0
        for byte in text.utf8 {
            guard byte >= 0x30, byte <= 0x39 else { return false }
            seen += 1
        }
        return seen == count
    }

    /// Whether `text` consists of ASCII digits only (and is not empty).
    static func all(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    static func error(_ text: some StringProtocol, is kind: String, expected: String) -> InputError {
        InputError(message: "\(String(text).quotedForMessage) is not \(kind): expected \(expected)")
    }
}

/// The identifier of an OZG-Leistung: five digits, e.g. `10000` (Elterngeld).
public struct OZGID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The numeric value, 0 … 99999.
    public let value: Int

    /// Validates `text` as an OZG-ID.
    /// - Throws: ``InputError`` naming the value and the expected form.
    public init(_ text: some StringProtocol) throws(InputError) {
        guard Digits.match(text, count: 5), let value = Int(text) else {
            throw Digits.error(text, is: "an OZG-ID", expected: "5 digits, e.g. 10000")
        }
        self.value = value
    }

    /// An OZG-ID from its numeric value, if it is in range.
    public init?(value: Int) {
        guard (0...99_999).contains(value) else { return nil }
        self.value = value
    }

    public var description: String {
        let digits = String(value)
        return String(repeating: "0", count: 5 - digits.count) + digits
    }

    public static func < (lhs: OZGID, rhs: OZGID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try OZGID(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The key of a service in the Leistungskatalog (LeiKa): fourteen digits, e.g. `99041006000000`.
public struct LeiKaKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let description: String

    /// Validates `text` as a LeiKa key.
    /// - Throws: ``InputError`` naming the value and the expected form.
    public init(_ text: some StringProtocol) throws(InputError) {
        guard Digits.match(text, count: 14) else {
            throw Digits.error(text, is: "a LeiKa key", expected: "14 digits, e.g. 99041006000000")
        }
        description = String(text)
    }

    public static func < (lhs: LeiKaKey, rhs: LeiKaKey) -> Bool { lhs.description < rhs.description }
}

/// The Amtlicher Gemeindeschlüssel: eight digits (Land 2, Regierungsbezirk 1, Kreis 2, Gemeinde 3).
public struct AGS: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let description: String

    /// Validates `text` as an AGS.
    /// - Throws: ``InputError``, e.g. `'0811100' is not an AGS: expected 8 digits`.
    public init(_ text: some StringProtocol) throws(InputError) {
        guard Digits.match(text, count: 8) else { throw Digits.error(text, is: "an AGS", expected: "8 digits") }
        description = String(text)
    }

    /// The two-digit Land code.
    public var land: String { String(description.prefix(2)) }
    /// The five-digit Kreis code.
    public var kreis: String { String(description.prefix(5)) }

    public static func < (lhs: AGS, rhs: AGS) -> Bool { lhs.description < rhs.description }
}

/// The Amtlicher Regionalschlüssel: twelve digits (Land 2, Regierungsbezirk 1, Kreis 2,
/// Gemeindeverband 4, Gemeinde 3).
public struct ARS: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let description: String

    /// Validates `text` as an ARS.
    /// - Throws: ``InputError``, e.g. `'08111' is not an ARS: expected 12 digits`.
    public init(_ text: some StringProtocol) throws(InputError) {
        guard Digits.match(text, count: 12) else { throw Digits.error(text, is: "an ARS", expected: "12 digits") }
        description = String(text)
    }

    /// The AGS contained in the ARS (Land, Bezirk and Kreis, then the Gemeinde digits).
    public var ags: AGS {
        let digits = Array(description.utf8)
        // Positions 1-5 and 10-12 of the ARS; both are digits by construction.
        let text = String(decoding: digits[0..<5] + digits[9..<12], as: UTF8.self)
        // The result has 8 digits by construction, so this cannot fail.
        return (try? AGS(text)) ?? AGS(unchecked: text)
    }

    /// The nine-digit Gemeindeverband key contained in the ARS (Kreis and Verband).
    public var verband: String { String(description.prefix(9)) }

    public static func < (lhs: ARS, rhs: ARS) -> Bool { lhs.description < rhs.description }
}

extension AGS {
    init(unchecked text: String) { description = text }
}

/// The key of any administrative unit, in the form its level uses.
///
/// Accepted: 2 digits (Land), 3 (Regierungsbezirk), 5 (Kreis), 8 (AGS of a Gemeinde or a gemeindefreies
/// Gebiet), 9 (Gemeindeverband: Kreis and Verband digits) and 12 (ARS, which names a Gemeinde and is
/// stored as its AGS). The canonical key of a unit is the one of its level, so every unit has exactly one.
public struct RegionKey: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The canonical key: 2, 3, 5, 8 or 9 digits.
    public let description: String
    /// The 12-digit ARS when the key was given as one (the registry uses it to resolve padded forms).
    public let givenARS: String?

    /// The level a key of this length names.
    public var lengthLevel: RegionLevel {
        switch description.utf8.count {
        case 2: .land
        case 3: .bezirk
        case 5: .kreis
        case 9: .verband
        default: .gemeinde
        }
    }

    /// Validates `text` as a region key.
    /// - Throws: ``InputError`` naming the value and the accepted forms.
    public init(_ text: some StringProtocol) throws(InputError) {
        let length = text.utf8.count
        guard Digits.all(text), [2, 3, 5, 8, 9, 12].contains(length) else {
            throw Digits.error(
                text, is: "a region key",
                expected: "2 digits (Land), 3 (Regierungsbezirk), 5 (Kreis), 8 (AGS), 9 (Gemeindeverband) or 12 (ARS)")
        }
        if length == 12 {
            let ars = try ARS(text)
            description = ars.ags.description
            givenARS = ars.description
        } else {
            description = String(text)
            givenARS = nil
        }
    }

    /// A key from an AGS.
    public init(_ ags: AGS) {
        description = ags.description
        givenARS = nil
    }

    /// A key from text the caller knows to be a canonical key (used by the registry parser).
    init(canonical text: String) {
        description = text
        givenARS = nil
    }

    /// Whether `other` lies within this key's area by key prefix (a Land contains its Kreise, a Kreis its
    /// Gemeinden and Verbände). A key contains itself.
    public func isPrefix(of other: RegionKey) -> Bool { other.description.hasPrefix(description) }

    public static func == (lhs: RegionKey, rhs: RegionKey) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
    public static func < (lhs: RegionKey, rhs: RegionKey) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try RegionKey(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
