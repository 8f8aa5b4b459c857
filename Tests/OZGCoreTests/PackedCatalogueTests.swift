import Foundation
@testable import OZGCore
import Testing

/// The plain catalogue folder of the repository, read the slow way (the source of truth).
private let plain: Catalogue = {
    do {
        return try Catalogue.load(from: .folder(packageRoot.appendingPathComponent("catalogue")))
    } catch {
        preconditionFailure("the repository's catalogue folder does not load: \(error)")
    }
}()

/// A freshly loaded built-in catalogue, so that nothing another test did has decoded its territory yet.
private func freshBuiltIn() throws -> Catalogue {
    let catalogue = try Catalogue.builtIn()
    #expect(catalogue.usesPacked, "the library was built without the packed catalogue")
    return catalogue
}

@Suite("The packed catalogue: built in for a fast start, always equal to the plain files")
struct PackedCatalogueTests {
    @Test("packing the plain files gives exactly the packed files in the repository (run scripts/pack-catalogue.sh if not)")
    func packedFilesAreCurrent() throws {
        let folder = packageRoot.appendingPathComponent(PackedCatalogue.folder)
        let files = try PackedCatalogue.files(of: plain)
        #expect(files.map(\.name) == ["ozg.packed", "regions-GV100AD_30112025.txt.packed", "regions-GV100AD_301121.ASC.packed"])
        for file in files {
            let committed = try String(contentsOf: folder.appendingPathComponent(file.name), encoding: .utf8)
            #expect(committed == file.text, "\(file.name) is stale: run scripts/pack-catalogue.sh")
        }
    }

    @Test("the packed files compiled into the library are the ones in the repository")
    func embeddedFilesAreCurrent() throws {
        for file in try PackedCatalogue.files(of: plain) {
            let embedded = try #require(EmbeddedData.files[PackedCatalogue.folder + file.name], "\(file.name) is not built in")
            // EmbedData drops the file's last line end (see EmbedDataTool); the lines are the same.
            #expect(embedded.description + "\n" == file.text)
        }
    }

    @Test("the built-in catalogue reads its packed form and equals the plain files")
    func builtInEqualsPlain() throws {
        let packed = try freshBuiltIn()
        #expect(packed.editions == plain.editions)
        #expect(packed.services.edition == plain.services.edition)
        #expect(packed.services.themenfelder == plain.services.themenfelder)
        #expect(packed.services.lebenslagen == plain.services.lebenslagen)
        #expect(packed.services.services == plain.services.services)
        #expect(packed.services.unassignedLeiKa == plain.services.unassignedLeiKa)
        #expect(packed.regions.edition == plain.regions.edition)
        #expect(packed.regions.date == plain.regions.date)
        for level in RegionLevel.allCases { #expect(packed.regions.count(level) == plain.regions.count(level)) }
        #expect(!packed.regions.isDecoded, "counting the units must not decode them")
        #expect(packed.regions.regions == plain.regions.regions)
        #expect(packed.regions.isDecoded)
    }

    @Test("the older territory editions are packed too and equal the plain files")
    func previousTerritories() throws {
        let packed = try freshBuiltIn().previousTerritories()
        let expected = try plain.previousTerritories()
        #expect(packed.map(\.edition) == expected.map(\.edition))
        #expect(packed.map(\.regions) == expected.map(\.regions))
    }

    @Test(
        "a look-up in the packed territory gives what the plain registry gives, without decoding every unit",
        arguments: [
            "01", "08", "16", "081", "08111", "08115", "16077", "010010000", "081155001", "084175005", "01001000", "08111000",
            "08115001", "16077052", "01053105", "01060014", "03151501", "081110000000", "08000000", "080000000000",
            "081150000000", "081155001000", "99", "00", "08999", "08111999", "169999999", "99999999",
        ])
    func lookUp(key: String) throws {
        let packed = try freshBuiltIn().regions
        let regions = plain.regions
        let regionKey = try RegionKey(key)
        #expect(packed.region(regionKey) == regions.region(regionKey))
        #expect(packed.resolve(regionKey) == regions.resolve(regionKey))
        let unit = regions.resolve(regionKey)?.key ?? regionKey
        #expect(packed.ancestors(of: unit) == regions.ancestors(of: unit))
        #expect(packed.children(of: unit) == regions.children(of: unit))
        #expect(packed.descendants(of: unit) == regions.descendants(of: unit))
        #expect(packed.descendants(of: unit, level: .gemeinde) == regions.descendants(of: unit, level: .gemeinde))
        #expect(packed.contains(unit, try RegionKey("08111000")) == regions.contains(unit, try RegionKey("08111000")))
        #expect(!packed.isDecoded, "a look-up of one unit must not decode the whole territory")
    }

    @Test("after many single look-ups the territory is decoded once, and answers stay the same")
    func manyLookUpsDecode() throws {
        let packed = try freshBuiltIn().regions
        let keys = plain.regions.regions.prefix(RegionStorage.decodeAfter + 10).map(\.key)
        for key in keys { #expect(packed.region(key) == plain.regions.region(key)) }
        #expect(packed.isDecoded)
        for key in keys.prefix(5) { #expect(packed.region(key) == plain.regions.region(key)) }
    }

    @Test("the territory and the services decode only as far as a command needs", arguments: ["08111000", "08115"])
    func setNeedsTwoLookUps(key: String) throws {
        let catalogue = try freshBuiltIn()
        let validator = RecordValidator(catalogue: catalogue)
        #expect(try validator.region(key) == RegionKey(key))
        #expect(try validator.service("10000") == OZGID("10000"))
        #expect(!catalogue.regions.isDecoded)
        #expect(!catalogue.services.isLeiKaDecoded)
    }

    @Test("the OZG-Leistungen answer without decoding their LeiKa services, which decode once, equal to the plain files")
    func leikaOnFirstUse() throws {
        let packed = try freshBuiltIn().services
        let expected = plain.services
        #expect(packed.leikaCount == expected.leikaCount)
        #expect(packed.services.count == expected.services.count)
        for service in expected.services {
            let found = try #require(packed.service(service.id))
            #expect(found.name == service.name && found.lebenslage == service.lebenslage && found.themenfeld == service.themenfeld)
            #expect(found.isMunicipal == service.isMunicipal, "\(service.id)")
            #expect(packed.position(of: service.id) == expected.position(of: service.id))
        }
        #expect(packed.municipalServices.map(\.id) == expected.municipalServices.map(\.id))
        #expect(!packed.isLeiKaDecoded, "names, IDs and whether a service is municipal need no LeiKa service")
        #expect(packed.services.map(\.leika) == expected.services.map(\.leika))
        #expect(packed.isLeiKaDecoded)
        #expect(packed.unassignedLeiKa == expected.unassignedLeiKa)
        #expect(packed.services(text: "99041006000000").map(\.id) == expected.services(text: "99041006000000").map(\.id))
    }

    @Test(
        "values with tabs, line ends, backslashes and a leading = survive packing",
        arguments: ["", "plain", "a\tb", "line\nbreak", "cr\r\n", "back\\slash", "\\t literally", "=starts with =", "Ä ö ß"])
    func escaping(value: String) {
        var writer = PackedWriter()
        writer.line([PackedWriter.text(value), PackedWriter.optional(value), PackedWriter.optional(nil), "end"])
        #expect(writer.text.filter { $0 == "\t" }.count == 3 && writer.text.filter(\.isNewline).count == 1)
        let (fields, next) = withBytes(writer.text) { PackedReader.fields($0, at: 0) }
        #expect(next == writer.text.utf8.count)
        #expect(fields.count == 4)
        #expect(fields.first == value)
        #expect(PackedReader.optional(fields[1]) == value)
        #expect(PackedReader.optional(fields[2]) == nil)
        #expect(fields.last == "end")
    }

    @Test("a packed file of another edition is refused with its name, not read")
    func otherEdition() throws {
        let edition = Edition(part: "ozg", path: "ozg/", name: "x", date: "2030-01-01", source: "", licence: "")
        #expect {
            _ = try PackedCatalogue.services("ozgtrack-packed-ozg\t1\tozg/\t2019-12-20\t0\t0\t0\t0\t0\n", edition: edition)
        } throws: { error in
            (error as? InputError)?.description.contains("ozg.packed (built in)") == true
        }
        let territory = Edition(part: "regions", path: "regions/X.txt", name: "x", date: "2030-01-01", source: "", licence: "")
        #expect(throws: InputError.self) {
            _ = try PackedCatalogue.regions("ozgtrack-packed-regions\t1\tregions/Y.txt\t2030-01-01\t0\t0\t0\t0\t0\t0\t0\n", edition: territory)
        }
    }
}
