import Foundation
import OZGCore
import Testing

@Suite("The region registry (GV100AD, Gebietsstand 2025-11-30)")
struct RegionTests {
    let regions = builtIn.regions

    @Test(
        "has the units Destatis counts",
        arguments: [
            (RegionLevel.land, 16), (.bezirk, 29), (.kreis, 400), (.verband, 4_590), (.gemeinde, 10_751),
            (.gemeindefrei, 202),
        ])
    func counts(level: RegionLevel, count: Int) {
        #expect(regions.count(level) == count)
    }

    @Test("08111000 Stuttgart is a Stadtkreis in Land 08")
    func stuttgart() throws {
        let stuttgart = try #require(regions.region(RegionKey("08111000")))
        #expect(stuttgart.name == "Stuttgart, Landeshauptstadt")
        #expect(stuttgart.level == .gemeinde)
        #expect(stuttgart.kind == "Stadtkreis")
        #expect(stuttgart.ars == "081110000000")
        let chain = regions.ancestors(of: stuttgart.key).map(\.key.description)
        #expect(chain.last == "08")
        #expect(chain.contains("08111"))
        #expect(regions.region(try RegionKey("08111"))?.kind == "Stadtkreis")
    }

    @Test("a Gemeinde of a Landkreis has that Kreis as parent, and its Verband beside")
    func gemeindeParent() throws {
        let aidlingen = try #require(regions.region(RegionKey("08115001")))
        #expect(aidlingen.parent?.description == "08115")
        let parent = try #require(aidlingen.parent)
        #expect(regions.region(parent)?.kind == "Landkreis")
        #expect(aidlingen.verband?.description == "081155001")
    }

    @Test("the children of a Kreis are its Gemeinden and gemeindefreie Gebiete")
    func children() throws {
        let children = regions.children(of: try RegionKey("08115"))
        #expect(children.count == 26)
        #expect(children.allSatisfy { $0.level == .gemeinde || $0.level == .gemeindefrei })
        #expect(children.allSatisfy { $0.parent?.description == "08115" })
    }

    @Test("the Gemeinden of Baden-Württemberg")
    func descendants() throws {
        #expect(regions.descendants(of: try RegionKey("08"), level: .gemeinde).count == 1_101)
    }

    @Test("population of higher units is the sum of their Gemeinden")
    func populationSums() throws {
        let kreis = try #require(regions.region(RegionKey("08115")))
        let sum = regions.children(of: kreis.key).reduce(0) { $0 + $1.population }
        #expect(kreis.population == sum)
        #expect(kreis.population > 300_000)
    }

    @Test(
        "search ignores case and diacritics and knows both spellings of umlauts",
        arguments: ["munchen", "muenchen", "MÜNCHEN", "München"])
    func searchUmlauts(query: String) {
        let found = regions.search(query, limit: 10)
        #expect(found.contains { $0.key.description == "09162000" })
    }

    @Test("search within a region finds only units inside it")
    func searchWithin() throws {
        let found = regions.search("neustadt", within: try RegionKey("09"))
        #expect(!found.isEmpty)
        #expect(found.allSatisfy { $0.key.description.hasPrefix("09") })
    }

    @Test("exact names rank before partial matches")
    func ranking() {
        #expect(regions.search("Görlitz").first?.name == "Görlitz")
    }

    @Test(
        "padded keys from other sources resolve to the unit they name",
        arguments: [("080000000000", "08"), ("08000000", "08"), ("081150000000", "08115"), ("081110000000", "08111000")])
    func paddedKeys(text: String, expected: String) throws {
        #expect(regions.resolve(try RegionKey(text))?.key.description == expected)
    }

    @Test("an unknown key is an error naming the edition")
    func unknownKey() {
        #expect(throws: InputError.self) { try regions.resolve("08999999") }
    }

    @Test("from 2021 to 2025, 49 Gemeinde keys were removed, 5 added and 33 renamed")
    func territoryChanges() throws {
        let older = try #require(try builtIn.previousTerritories().first)
        #expect(older.date == "2021-11-30")
        let changes = regions.changes(since: older, levels: [.gemeinde, .gemeindefrei])
        #expect(changes.removed.count == 49)
        #expect(changes.added.count == 5)
        #expect(changes.renamed.count == 33)
        #expect(changes.removed.contains { $0.key.description == "07232089" && $0.name == "Niedergeckler" })
    }

    @Test("keys of an older edition that are gone are found, and their former names known")
    func missingKeys() throws {
        let keys = [try RegionKey("07232089"), try RegionKey("08111000"), try RegionKey("07232089")]
        let missing = regions.missingKeys(keys)
        #expect(missing.map(\.description) == ["07232089"])
        let former = try #require(try builtIn.formerRegion(missing[0]))
        #expect(former.0.name == "Niedergeckler")
        #expect(former.1.date == "2021-11-30")
    }
}
