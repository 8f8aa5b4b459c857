import Foundation

/// `leika_leistungen.csv`: the LeiKa services, their types and the OZG-Leistung each belongs to.
extension ServiceCatalogueReader {
    static func readLeiKa(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError)
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
}
