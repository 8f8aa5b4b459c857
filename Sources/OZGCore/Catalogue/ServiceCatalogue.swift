/// The OZG catalogue: Themenfelder, Lebenslagen, OZG-Leistungen and their LeiKa services.
public struct ServiceCatalogue: Sendable {
    /// Where the catalogue comes from.
    public let edition: Edition
    /// The Themenfelder, by number.
    public let themenfelder: [Themenfeld]
    /// The Lebens- und Unternehmenslagen, by number.
    public let lebenslagen: [Lebenslage]
    /// The OZG-Leistungen, by OZG-ID.
    public let services: [OZGService]
    /// LeiKa services the catalogue maps to no OZG-Leistung.
    public var unassignedLeiKa: [LeiKaService] {
        switch unassignedSource {
        case .list(let services): services
        case .packed(let storage, _): storage.decoded.unassigned
        }
    }
    /// The number of LeiKa services, assigned or not.
    public let leikaCount: Int
    private let unassignedSource: LeiKaSource
    private let positions: [Int: Int]

    /// Creates a catalogue; services are sorted by ID.
    public init(
        edition: Edition, themenfelder: [Themenfeld], lebenslagen: [Lebenslage], services: [OZGService],
        unassignedLeiKa: [LeiKaService]
    ) {
        self.init(
            edition: edition, themenfelder: themenfelder, lebenslagen: lebenslagen, services: services,
            unassigned: .list(unassignedLeiKa),
            leikaCount: services.reduce(unassignedLeiKa.count) { $0 + $1.leika.count })
    }

    /// Creates a catalogue whose LeiKa services may still be packed (see ``LeiKaStorage``); `leikaCount` counts
    /// them, assigned or not.
    init(
        edition: Edition, themenfelder: [Themenfeld], lebenslagen: [Lebenslage], services: [OZGService],
        unassigned: LeiKaSource, leikaCount: Int
    ) {
        self.edition = edition
        self.themenfelder = themenfelder.sorted { $0.number < $1.number }
        self.lebenslagen = lebenslagen.sorted { $0.number < $1.number }
        let sorted = services.sorted { $0.id < $1.id }
        self.services = sorted
        self.unassignedSource = unassigned
        self.leikaCount = leikaCount
        var positions: [Int: Int] = [:]
        positions.reserveCapacity(sorted.count)
        for (position, service) in sorted.enumerated() { positions[service.id.value] = position }
        self.positions = positions
    }

    /// Whether the LeiKa services are decoded (always, unless the catalogue is the packed built-in one and no
    /// caller has asked for a LeiKa service yet).
    var isLeiKaDecoded: Bool {
        if case .packed(let storage, _) = unassignedSource { return storage.isDecoded }
        return true
    }

    /// The service with this ID.
    public func service(_ id: OZGID) -> OZGService? { positions[id.value].map { services[$0] } }

    /// The position of the service in ``services`` (a dense index 0 ..< services.count).
    public func position(of id: OZGID) -> Int? { positions[id.value] }

    /// The Themenfeld with this number.
    public func themenfeld(_ number: Int) -> Themenfeld? { themenfelder.first { $0.number == number } }

    /// The Lebenslage with this number.
    public func lebenslage(_ number: Int) -> Lebenslage? { lebenslagen.first { $0.number == number } }

    /// The services of a Themenfeld.
    public func services(inThemenfeld number: Int) -> [OZGService] { services.filter { $0.themenfeld == number } }

    /// The services of a Lebenslage.
    public func services(inLebenslage number: Int) -> [OZGService] { services.filter { $0.lebenslage == number } }

    /// The services that concern municipalities (see ``OZGService/isMunicipal``).
    public var municipalServices: [OZGService] { services.filter(\.isMunicipal) }

    /// Finds a Themenfeld by number or by name, ignoring case and diacritics; a unique prefix of the name
    /// is enough ("familie" finds "Familie & Kind").
    /// - Throws: ``InputError`` naming the value and the choices when nothing or more than one matches.
    public func themenfeld(matching text: String) throws(InputError) -> Themenfeld {
        if let number = Int(text), let found = themenfeld(number) { return found }
        let choices = themenfelder.map { "\($0.number) \($0.name)" }.joined(separator: ", ")
        return try Self.unique(text, in: themenfelder, name: \.name, kind: "Themenfeld", choices: choices)
    }

    /// Finds a Lebenslage by number or name, like ``themenfeld(matching:)``.
    public func lebenslage(matching text: String) throws(InputError) -> Lebenslage {
        if let number = Int(text), let found = lebenslage(number) { return found }
        return try Self.unique(
            text, in: lebenslagen, name: \.name, kind: "Lebenslage",
            choices: "a number from 1 to \(lebenslagen.count) or a name (ozgtrack catalogue life-situations lists them)")
    }

    private static func unique<T>(
        _ text: String, in items: [T], name: (T) -> String, kind: String, choices: String
    ) throws(InputError) -> T {
        let query = NameFolding.fold(text)
        if let exact = items.first(where: { NameFolding.fold(name($0)) == query }) { return exact }
        let prefixed = items.filter { NameFolding.fold(name($0)).hasPrefix(query) }
        let matches = prefixed.isEmpty ? items.filter { NameFolding.fold(name($0)).contains(query) } : prefixed
        if query.isEmpty || matches.isEmpty {
            throw InputError(message: "\(text.quotedForMessage) is not a \(kind): expected \(choices)")
        }
        if matches.count > 1 {
            throw InputError(
                message: "\(text.quotedForMessage) matches \(matches.count) \(kind)en (\(matches.map(name).joined(separator: "; "))): "
                    + "expected one")
        }
        return matches[0]
    }

    /// Services matching all given filters.
    /// - Parameters:
    ///   - themenfeld: a Themenfeld number.
    ///   - lebenslage: a Lebenslage number.
    ///   - municipalOnly: only services that concern municipalities.
    ///   - text: a case- and diacritic-insensitive search in the name, the OZG-ID and the LeiKa keys and names.
    public func services(themenfeld: Int? = nil, lebenslage: Int? = nil, municipalOnly: Bool = false, text: String? = nil)
        -> [OZGService]
    {
        let query = text.map(NameFolding.fold)
        return services.filter { service in
            if let themenfeld, service.themenfeld != themenfeld { return false }
            if let lebenslage, service.lebenslage != lebenslage { return false }
            if municipalOnly && !service.isMunicipal { return false }
            if let query, !query.isEmpty {
                if service.id.description == query || NameFolding.fold(service.name).contains(query) { return true }
                return service.leika.contains {
                    $0.key?.description == query || NameFolding.fold($0.name).contains(query)
                }
            }
            return true
        }
    }
}
