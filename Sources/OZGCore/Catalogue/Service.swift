/// One of the 14 Themenfelder of the OZG catalogue, with its lead (Federführung).
public struct Themenfeld: Sendable, Hashable, Identifiable {
    /// How well the lead is backed by sources.
    public enum Verification: String, Sendable, Hashable, Codable, CaseIterable {
        /// Backed by a primary source.
        case verified
        /// Partly backed: a secondary source, or part of the entry inferred.
        case partlyVerified = "partly_verified"
        /// Not backed by any source found; no lead is recorded.
        case unverified
    }

    /// The number, 1 … 14.
    public let number: Int
    /// The name, e.g. "Familie & Kind".
    public let name: String
    /// The two-digit codes of the leading Länder (two for a tandem; none when unverified).
    public let leadLaender: [String]
    /// The lead as the source states it, e.g. "Baden-Württemberg und Hessen (Tandem)".
    public let leadText: String
    /// The leading federal ministry; `nil` when unverified.
    public let leadMinistry: String?
    /// The ministry as the source states it (also when unverified).
    public let ministryText: String
    /// How well the lead is backed.
    public let verification: Verification
    /// The verification note as the source states it.
    public let verificationText: String
    /// The URLs the lead is taken from.
    public let sources: [String]

    public var id: Int { number }
}

/// One of the 55 Lebens- und Unternehmenslagen.
public struct Lebenslage: Sendable, Hashable, Identifiable {
    /// The number, 1 … 55.
    public let number: Int
    /// The name, e.g. "Geburt".
    public let name: String
    /// The number of its Themenfeld.
    public let themenfeld: Int

    public var id: Int { number }
}

/// The LeiKa-Typ of a service: which level regulates and which executes.
///
/// The raw catalogue value is kept (``raw``); ``codes`` are its parts, so `1, 2/3` has the codes `1` and
/// `2/3`. Meanings (LeiKa typisation as published e.g. by NRW's digital-direkt FAQ): 1 federal regulation
/// and execution; 2 and 3 federal regulation, execution by the Länder (2) or the municipal level (3), 2/3
/// either; 4 regulation by the Land, execution by the Land or the municipal level; 5 regulation and
/// execution at municipal level. Code 6 occurs in the data; the sources consulted do not describe it.
public struct LeiKaType: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The value as written in the catalogue (may be empty: the type is unknown).
    public let raw: String
    /// The parts, e.g. `["1", "2/3"]`.
    public let codes: [String]

    /// The codes that mean execution at municipal level: an OZG-Leistung concerns municipalities when one
    /// of its LeiKa services has one of them.
    public static let municipalCodes: Set<String> = ["2/3", "3", "4", "5"]

    /// What a code means, where the sources say it.
    public static func meaning(of code: String) -> String? {
        switch code {
        case "1": "Regelung und Vollzug Bund"
        case "2": "Regelung Bund, Vollzug Land"
        case "3": "Regelung Bund, Vollzug Kommune"
        case "2/3": "Regelung Bund, Vollzug Land oder Kommune"
        case "4": "Regelung Land, Vollzug Land oder Kommune"
        case "5": "Regelung und Vollzug Kommune"
        default: nil
        }
    }

    /// Parses a raw value such as `2/3` or `1, 2/3`.
    /// - Throws: ``InputError`` when a part is not a type code (digits, optionally `/` and digits).
    public init(raw: String) throws(InputError) {
        self.raw = raw
        var codes: [String] = []
        for part in raw.split(separator: ",") {
            let code = part.trimmingCharacters(in: " ")
            let pieces = code.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count), pieces.allSatisfy({ Digits.all($0) }) else {
                throw InputError(
                    message: "\(raw.quotedForMessage) is not a LeiKa-Typ: expected codes such as 1, 2/3 or 4, separated by commas")
            }
            codes.append(code)
        }
        self.codes = codes
    }

    /// Whether one of the codes means execution at municipal level.
    public var isMunicipal: Bool { codes.contains { Self.municipalCodes.contains($0) } }

    public var description: String { raw }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> String {
        var value = self
        while value.first == character { value.removeFirst() }
        while value.last == character { value.removeLast() }
        return String(value)
    }
}

/// One service of the Leistungskatalog (LeiKa), mapped to an OZG-Leistung.
public struct LeiKaService: Sendable, Hashable {
    /// The 14-digit key; `nil` where the catalogue says "nicht im LeiKa".
    public let key: LeiKaKey?
    /// The name.
    public let name: String
    /// The OZG-Leistung it belongs to; `nil` for the few services the catalogue maps to none.
    public let ozgID: OZGID?
    /// The LeiKa-Typ.
    public let type: LeiKaType
    /// The legal basis (Rechtsgrundlage) as given, often with a link.
    public let legalBasis: String
    /// The laws (Gesetze) and their abbreviation.
    public let laws: String
    public let lawAbbreviation: String
    /// Relevance for the EU Single Digital Gateway (SDG) annexes 1 and 2.
    public let sdg1: Bool
    public let sdg2: Bool
}

/// One OZG-Leistung: a bundle of LeiKa services that is put online as one.
public struct OZGService: Sendable, Hashable, Identifiable {
    /// The OZG-ID.
    public let id: OZGID
    /// The name, e.g. "Elterngeld".
    public let name: String
    /// The number of its Lebenslage.
    public let lebenslage: Int
    /// The number of its Themenfeld (that of its Lebenslage).
    public let themenfeld: Int
    /// Its LeiKa services.
    public var leika: [LeiKaService] {
        switch leikaSource {
        case .list(let services): services
        case .packed(let storage, let position): storage.decoded.services[position]
        }
    }
    /// Whether it concerns municipalities: one of its LeiKa services has a LeiKa-Typ with execution at
    /// municipal level (2/3, 3, 4 or 5). See ``LeiKaType/municipalCodes``.
    public let isMunicipal: Bool
    /// Where the LeiKa services are: given, or in the built-in packed catalogue, decoded on first use.
    private let leikaSource: LeiKaSource

    /// Creates a service; whether it is municipal follows from its LeiKa services.
    public init(id: OZGID, name: String, lebenslage: Int, themenfeld: Int, leika: [LeiKaService]) {
        self.id = id
        self.name = name
        self.lebenslage = lebenslage
        self.themenfeld = themenfeld
        self.leikaSource = .list(leika)
        self.isMunicipal = leika.contains { $0.type.isMunicipal }
    }

    /// A service of the packed catalogue, whose LeiKa services are decoded only when a caller asks for them;
    /// `isMunicipal` is read from their types at load.
    init(id: OZGID, name: String, lebenslage: Int, themenfeld: Int, isMunicipal: Bool, packed storage: LeiKaStorage, position: Int) {
        self.id = id
        self.name = name
        self.lebenslage = lebenslage
        self.themenfeld = themenfeld
        self.leikaSource = .packed(storage, position)
        self.isMunicipal = isMunicipal
    }

    public static func == (lhs: OZGService, rhs: OZGService) -> Bool {
        lhs.id == rhs.id && lhs.name == rhs.name && lhs.lebenslage == rhs.lebenslage && lhs.themenfeld == rhs.themenfeld
            && lhs.isMunicipal == rhs.isMunicipal && lhs.leika == rhs.leika
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(name)
        hasher.combine(lebenslage)
        hasher.combine(themenfeld)
        hasher.combine(isMunicipal)
        hasher.combine(leika)
    }

    /// The distinct LeiKa-Typ codes of its services, in catalogue order.
    public var typeCodes: [String] {
        var seen = Set<String>()
        return leika.flatMap(\.type.codes).filter { seen.insert($0).inserted }
    }
}

/// Where the LeiKa services of an ``OZGService`` (or the unassigned ones of a catalogue) are.
enum LeiKaSource: Sendable {
    /// Given as values (a catalogue folder, or built by a caller).
    case list([LeiKaService])
    /// The services at this position of a packed catalogue's LeiKa storage.
    case packed(LeiKaStorage, Int)
}
