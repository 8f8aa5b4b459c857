import Foundation
import OZGCore
import Testing

@Suite("Catalogue folders: newer editions load without code changes, malformed ones are named precisely")
struct CatalogueFolderTests {
    @Test("the repository's catalogue folder reads exactly like the built-in copy")
    func folderEqualsBuiltIn() throws {
        let folder = try Catalogue.load(from: .folder(packageRoot.appendingPathComponent("catalogue")))
        #expect(folder.services.services == builtIn.services.services)
        #expect(folder.services.themenfelder == builtIn.services.themenfelder)
        #expect(folder.regions.regions == builtIn.regions.regions)
        #expect(folder.editions == builtIn.editions)
    }

    struct Corruption: Sendable, CustomTestStringConvertible {
        var file: String
        var line: Int
        var replacement: String
        var expected: String
        var testDescription: String { "\(file):\(line) → \(expected)" }
    }

    @Test(
        "a malformed file is reported with its path, line and field",
        arguments: [
            Corruption(file: "ozg/leistungen.csv", line: 5, replacement: "1000X,Geburtsanzeige,26", expected: "ozg_id: '1000X' is not an OZG-ID"),
            Corruption(file: "ozg/leistungen.csv", line: 5, replacement: "10003,Geburtsanzeige,99", expected: "lebenslage_nr: '99'"),
            Corruption(file: "ozg/leistungen.csv", line: 5, replacement: "10000,Doppelt,26", expected: "appears again (first on line 2)"),
            Corruption(file: "ozg/lebenslagen.csv", line: 3, replacement: "2,Abfall & Umweltschutz,15", expected: "themenfeld_nr: '15'"),
            Corruption(file: "ozg/leika_leistungen.csv", line: 4, replacement: "99041006017000,Elterngeld Bewilligung,10000,2/,,,,1,0", expected: "leika_typ: '2/' is not a LeiKa-Typ"),
            Corruption(file: "ozg/leika_leistungen.csv", line: 4, replacement: "99041006017000,Elterngeld Bewilligung,10000,2/3,,,,1", expected: "the record has 8 fields: expected 9"),
            Corruption(file: "ozg/themenfelder.csv", line: 8, replacement: "7,Forschung & Förderung,07,UNVERIFIED,,x,unverified,not found,", expected: "expected no lead where none is verified"),
            Corruption(file: "editions.csv", line: 3, replacement: "regions,regions/GV100AD_30112025.txt,GV100AD,2025-12-31,x,y", expected: "whose records say Gebietsstand 2025-11-30"),
        ])
    func malformed(corruption: Corruption) throws {
        try withTemporaryDirectory { directory in
            let folder = try copyCatalogue(into: directory)
            try replaceLine(corruption.line, in: folder.appendingPathComponent(corruption.file), with: corruption.replacement)
            do {
                _ = try Catalogue.load(from: .folder(folder))
                Issue.record("a malformed folder loaded")
            } catch {
                let text = String(describing: error)
                if corruption.file != "editions.csv" {
                    #expect(text.hasPrefix(folder.appendingPathComponent(corruption.file).path + ":\(corruption.line): "), "\(text)")
                }
                #expect(text.contains(corruption.expected), "\(text)")
            }
        }
    }

    @Test("a malformed GV100AD record is reported with file, line and field")
    func malformedTerritory() throws {
        try withTemporaryDirectory { directory in
            let folder = try copyCatalogue(into: directory)
            let file = folder.appendingPathComponent("regions/GV100AD_30112025.txt")
            var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\r\n")
            lines[99] = "60" + lines[99].dropFirst(2).replacingOccurrences(of: "20251130", with: "2025113X")
            try lines.joined(separator: "\r\n").write(to: file, atomically: true, encoding: .utf8)
            do {
                _ = try Catalogue.load(from: .folder(folder))
                Issue.record("a malformed registry loaded")
            } catch {
                #expect(String(describing: error).hasPrefix(file.path + ":100: Gebietsstand: "), "\(error)")
                #expect(String(describing: error).contains("expected 8 digits"))
            }
        }
    }

    @Test("a missing file is named")
    func missingFile() throws {
        try withTemporaryDirectory { directory in
            let folder = try copyCatalogue(into: directory)
            try FileManager.default.removeItem(at: folder.appendingPathComponent("ozg/leistungen.csv"))
            #expect {
                _ = try Catalogue.load(from: .folder(folder))
            } throws: { error in
                (error as? InputError)?.file == folder.appendingPathComponent("ozg/leistungen.csv").path
            }
        }
    }
}
