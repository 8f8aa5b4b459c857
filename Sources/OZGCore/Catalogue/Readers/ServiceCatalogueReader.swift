import Foundation

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

    static func number(_ table: CSVTable, _ column: String) throws(InputError) -> Int {
        let text = try table.text(column)
        guard Digits.all(text), let value = Int(text), value > 0 else {
            throw table.error(column, "\(text.quotedForMessage): expected a positive number")
        }
        return value
    }
}
