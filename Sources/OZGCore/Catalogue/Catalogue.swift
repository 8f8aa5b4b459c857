import Foundation

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
    /// Whether the built-in editions are read from their packed form (see ``PackedCatalogue``).
    let usesPacked: Bool

    /// The catalogue built into the library.
    public static func builtIn() throws(InputError) -> Catalogue { try load(from: .builtIn) }

    /// Reads the catalogue from `source`.
    /// - Throws: ``InputError`` naming the file, line and field of the first problem.
    public static func load(from source: CatalogueSource) throws(InputError) -> Catalogue {
        try load(from: source, packed: true)
    }

    /// Reads the catalogue from `source`; the built-in one from its packed form where the library has one for
    /// the edition, unless `packed` is false (the tests compare the two).
    static func load(from source: CatalogueSource, packed: Bool) throws(InputError) -> Catalogue {
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
        if packed, source == .builtIn, let packedServices = PackedCatalogue.embedded(ozg),
            let packedRegions = PackedCatalogue.embedded(territory)
        {
            // The start-up path of every command: no parsing, no threads (see PackedCatalogue).
            let services = try PackedCatalogue.services(packedServices, edition: ozg)
            let regions = try PackedCatalogue.regions(packedRegions, edition: territory)
            return Catalogue(services: services, regions: regions, editions: editions, source: source, usesPacked: true)
        }
        // A catalogue folder (or a built-in edition without packed form): every command starts by loading the
        // catalogue: the services and the territory are read at the same
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
        return Catalogue(services: services, regions: regions, editions: editions, source: source, usesPacked: false)
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
            result.append(try Self.readTerritory(edition, from: source, packed: usesPacked))
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

    private static func readTerritory(_ edition: Edition, from source: CatalogueSource, packed: Bool = false)
        throws(InputError) -> RegionRegistry
    {
        let file = source.display(edition.path)
        let registry: RegionRegistry
        if packed, source == .builtIn, let text = PackedCatalogue.embedded(edition) {
            registry = try PackedCatalogue.regions(text, edition: edition)
        } else {
            registry = try source.withBytes(edition.path) { bytes throws(InputError) in
                try RegionRegistry(gv100ad: bytes, file: file, edition: edition)
            }
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
