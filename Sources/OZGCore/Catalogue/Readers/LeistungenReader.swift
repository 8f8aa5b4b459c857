import Foundation

/// `leistungen.csv`: the OZG-Leistungen, each in a Lebenslage, with its LeiKa services.
extension ServiceCatalogueReader {
    static func readServices(
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
