/// The administrative levels of the registry, from the top.
public enum RegionLevel: String, Sendable, CaseIterable, Codable, Comparable {
    /// A Land (Satzart 10).
    case land
    /// A Regierungsbezirk (Satzart 20).
    case bezirk
    /// A Kreis: Landkreis, Kreis, kreisfreie Stadt, Stadtkreis or Regionalverband (Satzart 40).
    case kreis
    /// A Gemeindeverband: Amt, Samtgemeinde, Verbandsgemeinde, Verwaltungsgemeinschaft … (Satzart 50).
    case verband
    /// A Gemeinde (Satzart 60 with Textkennzeichen 60–64 or 67).
    case gemeinde
    /// A gemeindefreies Gebiet (Satzart 60 with Textkennzeichen 65 or 66).
    case gemeindefrei

    /// The German name of the level.
    public var germanName: String {
        switch self {
        case .land: "Land"
        case .bezirk: "Regierungsbezirk"
        case .kreis: "Kreis"
        case .verband: "Gemeindeverband"
        case .gemeinde: "Gemeinde"
        case .gemeindefrei: "gemeindefreies Gebiet"
        }
    }

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: RegionLevel, rhs: RegionLevel) -> Bool { lhs.rank < rhs.rank }
}

/// One administrative unit of the registry.
public struct Region: Sendable, Hashable, Identifiable {
    /// The canonical key of the unit (see ``RegionKey``).
    public let key: RegionKey
    /// The level of the unit.
    public let level: RegionLevel
    /// The Textkennzeichen of GV100AD (e.g. 44 Landkreis, 62 Stadtkreis, 64 kreisangehörige Gemeinde);
    /// `nil` for Länder and Regierungsbezirke, which have none.
    public let textCode: Int?
    /// The official name, as in the registry (at most 50 characters there).
    public let name: String
    /// The seat of the administration (Länder, Bezirke, Kreise, Verbände), if given.
    public let seat: String?
    /// The next unit up: Bezirk or Land for a Kreis, Kreis for a Gemeinde or Verband, Land for a Bezirk.
    public let parent: RegionKey?
    /// The Gemeindeverband a Gemeinde belongs to (9 digits), if any.
    public let verband: RegionKey?
    /// The population (for Gemeinden from the registry; for higher units the sum of their Gemeinden and
    /// gemeindefreie Gebiete).
    public let population: Int
    /// The area in hectares (Gemeinden only; summed for higher units).
    public let areaHectares: Int
    /// The postcode of the Gemeinde (of its administration where it has several).
    public let postcode: String?
    /// The 12-digit ARS (Gemeinden and gemeindefreie Gebiete only).
    public let ars: String?

    public var id: RegionKey { key }

    /// The kind of unit in German, from the Textkennzeichen ("Landkreis", "Stadt", "Amt", …).
    public var kind: String {
        guard let textCode else { return level.germanName }
        return Region.textCodeNames[textCode] ?? level.germanName
    }

    /// The Textkennzeichen of the Destatis record layout (Datensatzbeschreibung GV100AD).
    public static let textCodeNames: [Int: String] = [
        41: "Kreisfreie Stadt", 42: "Stadtkreis", 43: "Kreis", 44: "Landkreis", 45: "Regionalverband",
        50: "Verbandsfreie Gemeinde", 51: "Amt", 52: "Samtgemeinde", 53: "Verbandsgemeinde",
        54: "Verwaltungsgemeinschaft", 55: "Kirchspielslandgemeinde", 56: "Verwaltungsverband",
        57: "VG Trägermodell", 58: "Erfüllende Gemeinde",
        60: "Markt", 61: "Kreisfreie Stadt", 62: "Stadtkreis", 63: "Stadt", 64: "Kreisangehörige Gemeinde",
        65: "gemeindefreies Gebiet, bewohnt", 66: "gemeindefreies Gebiet, unbewohnt", 67: "Große Kreisstadt",
    ]

    public init(
        key: RegionKey, level: RegionLevel, textCode: Int?, name: String, seat: String?, parent: RegionKey?,
        verband: RegionKey?, population: Int, areaHectares: Int, postcode: String?, ars: String?
    ) {
        self.key = key
        self.level = level
        self.textCode = textCode
        self.name = name
        self.seat = seat
        self.parent = parent
        self.verband = verband
        self.population = population
        self.areaHectares = areaHectares
        self.postcode = postcode
        self.ars = ars
    }
}
