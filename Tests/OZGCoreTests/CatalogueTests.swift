import Foundation
import OZGCore
import Testing

@Suite("The built-in OZG catalogue")
struct CatalogueTests {
    let catalogue = builtIn.services

    @Test("has 14 Themenfelder, 55 Lebenslagen, 557 OZG-Leistungen and 5,249 LeiKa services")
    func counts() {
        #expect(catalogue.themenfelder.count == 14)
        #expect(catalogue.lebenslagen.count == 55)
        #expect(catalogue.services.count == 557)
        #expect(catalogue.leikaCount == 5_249)
    }

    @Test("every service lies in exactly one existing Themenfeld and Lebenslage, and they agree")
    func serviceHierarchy() throws {
        for service in catalogue.services {
            let situation = try #require(catalogue.lebenslage(service.lebenslage))
            #expect(situation.themenfeld == service.themenfeld)
            #expect(catalogue.themenfeld(service.themenfeld) != nil)
        }
        let perThemenfeld = catalogue.themenfelder.map { catalogue.services(inThemenfeld: $0.number).count }
        #expect(perThemenfeld.reduce(0, +) == 557)
        let perLebenslage = catalogue.lebenslagen.map { catalogue.services(inLebenslage: $0.number).count }
        #expect(perLebenslage.reduce(0, +) == 557)
    }

    @Test("OZG-IDs are unique and the LeiKa services without one are kept")
    func identifiers() {
        #expect(Set(catalogue.services.map(\.id)).count == 557)
        #expect(catalogue.unassignedLeiKa.count == 26)
        let withoutKey = catalogue.services.flatMap(\.leika).filter { $0.key == nil }.count
            + catalogue.unassignedLeiKa.filter { $0.key == nil }.count
        #expect(withoutKey == 436)
    }

    @Test("the two unverified Themenfelder have no lead, and no lead is invented")
    func unverifiedLeads() {
        let unverified = catalogue.themenfelder.filter { $0.verification == .unverified }
        #expect(unverified.map(\.name) == ["Forschung & Förderung", "Querschnitt"])
        for field in unverified {
            #expect(field.leadLaender.isEmpty)
            #expect(field.leadMinistry == nil)
            #expect(field.leadText == "UNVERIFIED")
        }
    }

    @Test("tandem leads keep both Länder", arguments: [("Mobilität & Reisen", ["08", "06"]), ("Umwelt", ["07", "01"])])
    func tandems(name: String, laender: [String]) throws {
        let field = try #require(catalogue.themenfelder.first { $0.name == name })
        #expect(field.leadLaender == laender)
    }

    @Test("a service is municipal when one of its LeiKa services has type 2/3, 3, 4 or 5")
    func municipalRule() {
        for service in catalogue.services {
            let expected = service.leika.contains { $0.type.codes.contains { ["2/3", "3", "4", "5"].contains($0) } }
            #expect(service.isMunicipal == expected, "\(service.id)")
        }
        #expect(catalogue.municipalServices.count == 460)
        #expect(catalogue.service(OZGID(value: 10073)!)?.isMunicipal == false)  // Arbeitslosengeld: Typ 1
        #expect(catalogue.service(OZGID(value: 10000)!)?.isMunicipal == true)  // Elterngeld: Typ 2/3
    }

    @Test("services filter by Themenfeld, Lebenslage, municipal flag and text")
    func filters() throws {
        let familie = try catalogue.themenfeld(matching: "familie")
        #expect(familie.number == 6)
        #expect(try catalogue.themenfeld(matching: "6").name == "Familie & Kind")
        let geburt = try catalogue.lebenslage(matching: "Geburt")
        let found = catalogue.services(themenfeld: 6, lebenslage: geburt.number, municipalOnly: true, text: "elterngeld")
        #expect(found.map(\.id.description) == ["10000"])
        #expect(catalogue.services(text: "99041006000000").map(\.id.description) == ["10000"])
    }

    @Test("an unknown Themenfeld names the choices")
    func unknownThemenfeld() {
        #expect(throws: InputError.self) { try catalogue.themenfeld(matching: "Raumfahrt") }
    }

    @Test("edition metadata comes from the data")
    func editions() {
        #expect(catalogue.edition.date == "2019-12-20")
        #expect(builtIn.regions.edition.date == "2025-11-30")
        #expect(builtIn.regions.edition.licence.contains("Statistisches Bundesamt (Destatis), 2025"))
    }
}

@Suite("LeiKa-Typ parsing")
struct LeiKaTypeTests {
    @Test(
        "every raw value in the catalogue parses into its codes",
        arguments: [
            ("1", ["1"], false), ("2", ["2"], false), ("2/3", ["2/3"], true), ("4", ["4"], true), ("5", ["5"], true),
            ("6", ["6"], false), ("1, 2/3", ["1", "2/3"], true), ("1, 2", ["1", "2"], false), ("", [], false),
        ])
    func parses(raw: String, codes: [String], municipal: Bool) throws {
        let type = try LeiKaType(raw: raw)
        #expect(type.codes == codes)
        #expect(type.raw == raw)
        #expect(type.isMunicipal == municipal)
    }

    @Test("the data holds exactly these raw values")
    func rawValuesInData() {
        let raws = Set(builtIn.services.services.flatMap(\.leika).map(\.type.raw) + builtIn.services.unassignedLeiKa.map(\.type.raw))
        #expect(raws == ["1", "2", "2/3", "4", "5", "6", "1, 2/3", "1, 2", ""])
    }

    @Test("malformed values are refused", arguments: ["2/", "a", "1;2", "2//3"])
    func malformed(raw: String) {
        #expect(throws: InputError.self) { try LeiKaType(raw: raw) }
    }
}
