public import Foundation

/// Where the reference data is read from: the copy built into the library, or a catalogue folder in the
/// same format (for newer editions, without code changes).
public enum CatalogueSource: Sendable, Hashable, CustomStringConvertible {
    /// The `catalogue/` folder as it was when the library was built, embedded at build time.
    case builtIn
    /// A folder laid out like the project's `catalogue/`.
    case folder(URL)

    public var description: String {
        switch self {
        case .builtIn: "built-in"
        case .folder(let url): url.path
        }
    }

    /// The name of a file for messages.
    func display(_ path: String) -> String {
        switch self {
        case .builtIn: "catalogue/\(path) (built in)"
        case .folder(let url): url.appendingPathComponent(path).path
        }
    }

    /// Calls `body` with the bytes of the file at `path` (relative to the catalogue folder).
    func withBytes<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws(InputError) -> R) throws(InputError) -> R {
        switch self {
        case .builtIn:
            guard let text = EmbeddedData.files["catalogue/" + path] else {
                throw InputError(file: display(path), message: "not built in: expected a file of the catalogue")
            }
            return try body(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        case .folder(let url):
            let file = url.appendingPathComponent(path)
            let data: Data
            do {
                data = try Data(contentsOf: file, options: .mappedIfSafe)
            } catch {
                throw InputError(
                    file: file.path, message: "cannot be read (\(error.localizedDescription)): expected a file of the catalogue")
            }
            var result: Result<R, InputError>?
            data.withUnsafeBytes { bytes in
                do throws(InputError) {
                    result = .success(try body(bytes))
                } catch {
                    result = .failure(error)
                }
            }
            // `withUnsafeBytes` always runs its closure, so `result` is set.
            guard let result else { throw InputError(file: file.path, message: "could not be read") }
            return try result.get()
        }
    }
}

/// The reference data ozgtrack works with: the OZG service catalogue and the region registry of the newest
/// territory edition, plus the older territory editions of the folder (read on demand), each with its
/// edition metadata.
public struct Catalogue: Sendable {
    /// The OZG catalogue.
    public let services: ServiceCatalogue
    /// The newest territory edition.
    public let regions: RegionRegistry
    /// Every edition of the folder, as listed in its `editions.csv`.
    public let editions: [Edition]
    /// Where it was read from.
    public let source: CatalogueSource

    /// The catalogue built into the library.
    public static func builtIn() throws(InputError) -> Catalogue { try load(from: .builtIn) }

    /// Reads the catalogue from `source`.
    /// - Throws: ``InputError`` naming the file, line and field of the first problem.
    public static func load(from source: CatalogueSource) throws(InputError) -> Catalogue {
        let editions = try source.withBytes("editions.csv") { bytes throws(InputError) in
            try readEditions(bytes, file: source.display("editions.csv"))
        }
        guard let ozg = editions.first(where: { $0.part == "ozg" }) else {
            throw InputError(
                file: source.display("editions.csv"), message: "no row with part 'ozg': expected the service catalogue's edition")
        }
        guard let territory = editions.filter({ $0.part == "regions" }).max(by: { $0.date < $1.date }) else {
            throw InputError(
                file: source.display("editions.csv"), message: "no row with part 'regions': expected a territory edition")
        }
        // Every command starts by loading the catalogue: the services and the territory are read at the same
        // time, on two cores (measured: `ozgtrack status` 20 % sooner on this 2-core machine).
        let servicesSlot = LoadSlot<ServiceCatalogue>()
        let regionsSlot = LoadSlot<RegionRegistry>()
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            if part == 0 {
                servicesSlot.result = Result { () throws(InputError) in try ServiceCatalogueReader.read(from: source, edition: ozg) }
            } else {
                regionsSlot.result = Result { () throws(InputError) in try readTerritory(territory, from: source) }
            }
        }
        let services = try servicesSlot.get()
        let regions = try regionsSlot.get()
        return Catalogue(services: services, regions: regions, editions: editions, source: source)
    }

    /// The result of one part of a concurrent load. `@unchecked Sendable`: each slot is written by one
    /// iteration of `concurrentPerform`, which returns only after all iterations, and read after that.
    private final class LoadSlot<Value>: @unchecked Sendable {
        var result: Result<Value, InputError>?

        func get() throws(InputError) -> Value {
            switch result {
            case .success(let value): return value
            case .failure(let error): throw error
            case nil: throw InputError(message: "the catalogue was not loaded")
            }
        }
    }

    /// The older territory editions of the folder, newest first (read now; they are not kept in memory).
    public func previousTerritories() throws(InputError) -> [RegionRegistry] {
        var result: [RegionRegistry] = []
        for edition in editions where edition.part == "regions" && edition.path != regions.edition.path {
            result.append(try Self.readTerritory(edition, from: source))
        }
        return result.sorted { $0.date > $1.date }
    }

    /// Finds the newest older edition that still had `key`, for messages about keys that are gone.
    public func formerRegion(_ key: RegionKey) throws(InputError) -> (Region, RegionRegistry)? {
        for territory in try previousTerritories() {
            if let region = territory.region(key) { return (region, territory) }
        }
        return nil
    }

    private static func readTerritory(_ edition: Edition, from source: CatalogueSource) throws(InputError) -> RegionRegistry {
        let file = source.display(edition.path)
        let registry = try source.withBytes(edition.path) { bytes throws(InputError) in
            try RegionRegistry(gv100ad: bytes, file: file, edition: edition)
        }
        if registry.date != edition.date {
            throw InputError(
                file: source.display("editions.csv"), field: "date",
                message: "'\(edition.date)' for \(edition.path), whose records say Gebietsstand \(registry.date): "
                    + "expected the two to agree")
        }
        return registry
    }

    private static func readEditions(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError) -> [Edition] {
        let columns = ["part", "path", "edition", "date", "source", "licence"]
        let table = try CSVTable(bytes: bytes, file: file, required: columns)
        var editions: [Edition] = []
        while try table.next() {
            let part = try table.text("part")
            guard part == "ozg" || part == "regions" else {
                throw table.error("part", "\(part.quotedForMessage): expected ozg or regions")
            }
            let date = try table.text("date")
            guard ISODate(date) != nil else {
                throw table.error("date", "\(date.quotedForMessage): expected a date YYYY-MM-DD")
            }
            let path = try table.text("path")
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw table.error("path", "\(path.quotedForMessage): expected a path inside the catalogue folder")
            }
            editions.append(
                Edition(
                    part: part, path: path, name: try table.text("edition"), date: date,
                    source: try table.text("source"), licence: try table.text("licence")))
        }
        return editions
    }
}

/// Reads the four CSV files of the service catalogue.
enum ServiceCatalogueReader {
    static func read(from source: CatalogueSource, edition: Edition) throws(InputError) -> ServiceCatalogue {
        let folder = edition.path.hasSuffix("/") ? edition.path : edition.path + "/"
        let themenfelder = try source.withBytes(folder + "themenfelder.csv") { bytes throws(InputError) in
            try readThemenfelder(bytes, file: source.display(folder + "themenfelder.csv"))
        }
        let lebenslagen = try source.withBytes(folder + "lebenslagen.csv") { bytes throws(InputError) in
            try readLebenslagen(bytes, file: source.display(folder + "lebenslagen.csv"), themenfelder: themenfelder)
        }
        let leika = try source.withBytes(folder + "leika_leistungen.csv") { bytes throws(InputError) in
            try readLeiKa(bytes, file: source.display(folder + "leika_leistungen.csv"))
        }
        let services = try source.withBytes(folder + "leistungen.csv") { bytes throws(InputError) in
            try readServices(
                bytes, file: source.display(folder + "leistungen.csv"), lebenslagen: lebenslagen, leika: leika)
        }
        let known = Set(services.map(\.id))
        for (service, line) in leika.services where service.ozgID.map({ !known.contains($0) }) ?? false {
            throw InputError(
                file: source.display(folder + "leika_leistungen.csv"), line: line, field: "ozg_id",
                message: "'\(service.ozgID?.description ?? "")' is not in leistungen.csv: expected an OZG-ID of the catalogue")
        }
        return ServiceCatalogue(
            edition: edition, themenfelder: themenfelder, lebenslagen: lebenslagen, services: services,
            unassignedLeiKa: leika.services.map(\.0).filter { $0.ozgID == nil })
    }

    private static func number(_ table: CSVTable, _ column: String) throws(InputError) -> Int {
        let text = try table.text(column)
        guard Digits.all(text), let value = Int(text), value > 0 else {
            throw table.error(column, "\(text.quotedForMessage): expected a positive number")
        }
        return value
    }

    private static func readThemenfelder(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError) -> [Themenfeld] {
        let table = try CSVTable(
            bytes: bytes, file: file,
            required: [
                "themenfeld_nr", "themenfeld", "federfuehrende_laender", "federfuehrung_quelltext",
                "federfuehrendes_bundesressort", "bundesressort_quelltext", "belegstatus", "belegstatus_quelltext",
                "quelle",
            ])
        var result: [Themenfeld] = []
        while try table.next() {
            let number = try number(table, "themenfeld_nr")
            if result.contains(where: { $0.number == number }) {
                throw table.error("themenfeld_nr", "'\(number)' appears again: expected each number once")
            }
            let leadText = try table.text("federfuehrende_laender")
            let laender = leadText.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
            for land in laender where !Digits.match(land, count: 2) {
                throw table.error(
                    "federfuehrende_laender", "\(land.quotedForMessage): expected two-digit Land codes separated by ';'")
            }
            let statusText = try table.text("belegstatus")
            guard let verification = Themenfeld.Verification(rawValue: statusText) else {
                throw table.error("belegstatus", "\(statusText.quotedForMessage): expected verified, partly_verified or unverified")
            }
            if verification == .unverified && !laender.isEmpty {
                throw table.error(
                    "federfuehrende_laender", "'\(leadText)' for an unverified Themenfeld: expected no lead where none is verified")
            }
            let ministry = try table.text("federfuehrendes_bundesressort")
            let sources = try table.text("quelle").components(separatedBy: " ; ").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
            result.append(
                Themenfeld(
                    number: number, name: try table.text("themenfeld"), leadLaender: laender,
                    leadText: try table.text("federfuehrung_quelltext"), leadMinistry: ministry.isEmpty ? nil : ministry,
                    ministryText: try table.text("bundesressort_quelltext"), verification: verification,
                    verificationText: try table.text("belegstatus_quelltext"), sources: sources))
        }
        return result
    }

    private static func readLebenslagen(_ bytes: UnsafeRawBufferPointer, file: String, themenfelder: [Themenfeld])
        throws(InputError) -> [Lebenslage]
    {
        let table = try CSVTable(bytes: bytes, file: file, required: ["lebenslage_nr", "lebenslage", "themenfeld_nr"])
        var result: [Lebenslage] = []
        let known = Set(themenfelder.map(\.number))
        while try table.next() {
            let number = try number(table, "lebenslage_nr")
            if result.contains(where: { $0.number == number }) {
                throw table.error("lebenslage_nr", "'\(number)' appears again: expected each number once")
            }
            let themenfeld = try self.number(table, "themenfeld_nr")
            guard known.contains(themenfeld) else {
                throw table.error("themenfeld_nr", "'\(themenfeld)': expected a number from themenfelder.csv")
            }
            result.append(Lebenslage(number: number, name: try table.text("lebenslage"), themenfeld: themenfeld))
        }
        return result
    }

    private static func readLeiKa(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError)
        -> (services: [(LeiKaService, Int)], byService: [OZGID: [LeiKaService]])
    {
        let table = try CSVTable(
            bytes: bytes, file: file,
            required: [
                "leika_schluessel", "leika_bezeichnung", "ozg_id", "leika_typ", "rechtsgrundlage", "gesetze",
                "gesetz_kuerzel", "sdg1_relevanz", "sdg2_relevanz",
            ])
        var services: [(LeiKaService, Int)] = []
        var byService: [OZGID: [LeiKaService]] = [:]
        // Columns resolved once and types parsed once per distinct value: this file has 5,249 rows and is
        // read at every start of the tool.
        let columns = table.header.indices
        func column(_ name: String) -> Int { table.index(name) ?? columns.lowerBound }
        let keyColumn = column("leika_schluessel")
        let nameColumn = column("leika_bezeichnung")
        let idColumn = column("ozg_id")
        let typeColumn = column("leika_typ")
        let basisColumn = column("rechtsgrundlage")
        let lawsColumn = column("gesetze")
        let abbreviationColumn = column("gesetz_kuerzel")
        let sdg1Column = column("sdg1_relevanz")
        let sdg2Column = column("sdg2_relevanz")
        var types: [String: LeiKaType] = [:]
        func flag(_ index: Int) throws(InputError) -> Bool {
            switch try table.text(at: index) {
            case "1": return true
            case "0", "": return false
            case let other: throw table.error(table.header[index], "\(other.quotedForMessage): expected 0 or 1")
            }
        }
        while try table.next() {
            let keyText = try table.text(at: keyColumn)
            let key: LeiKaKey? =
                keyText.isEmpty || keyText == "nicht im LeiKa"
                ? nil : try table.parse("leika_schluessel", text: keyText) { text throws(InputError) in try LeiKaKey(text) }
            let idText = try table.text(at: idColumn)
            let ozgID: OZGID? =
                idText.isEmpty ? nil : try table.parse("ozg_id", text: idText) { text throws(InputError) in try OZGID(text) }
            let typeText = try table.text(at: typeColumn)
            let type: LeiKaType
            if let known = types[typeText] {
                type = known
            } else {
                type = try table.parse("leika_typ", text: typeText) { text throws(InputError) in try LeiKaType(raw: text) }
                types[typeText] = type
            }
            let service = LeiKaService(
                key: key, name: try table.text(at: nameColumn), ozgID: ozgID, type: type,
                legalBasis: try table.text(at: basisColumn), laws: try table.text(at: lawsColumn),
                lawAbbreviation: try table.text(at: abbreviationColumn), sdg1: try flag(sdg1Column),
                sdg2: try flag(sdg2Column))
            services.append((service, table.line))
            if let ozgID { byService[ozgID, default: []].append(service) }
        }
        return (services, byService)
    }

    private static func readServices(
        _ bytes: UnsafeRawBufferPointer, file: String, lebenslagen: [Lebenslage],
        leika: (services: [(LeiKaService, Int)], byService: [OZGID: [LeiKaService]])
    ) throws(InputError) -> [OZGService] {
        let table = try CSVTable(bytes: bytes, file: file, required: ["ozg_id", "ozg_leistung", "lebenslage_nr"])
        var result: [OZGService] = []
        var seen: [OZGID: Int] = [:]
        let situations = Dictionary(uniqueKeysWithValues: lebenslagen.map { ($0.number, $0) })
        while try table.next() {
            let id = try table.parse("ozg_id") { text throws(InputError) in try OZGID(text) }
            if let first = seen[id] {
                throw table.error("ozg_id", "'\(id)' appears again (first on line \(first)): expected each OZG-ID once")
            }
            seen[id] = table.line
            let number = try self.number(table, "lebenslage_nr")
            guard let situation = situations[number] else {
                throw table.error("lebenslage_nr", "'\(number)': expected a number from lebenslagen.csv")
            }
            let name = try table.text("ozg_leistung")
            if name.isEmpty { throw table.error("ozg_leistung", "empty: expected the service's name") }
            result.append(
                OZGService(
                    id: id, name: name, lebenslage: number, themenfeld: situation.themenfeld,
                    leika: leika.byService[id] ?? []))
        }
        return result
    }
}
