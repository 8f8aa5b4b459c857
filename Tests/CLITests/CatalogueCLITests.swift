import Foundation
import Testing

@Suite("CLI: catalogue and regions, run as the built binary")
struct CatalogueCLITests {
    @Test("catalogue stats --format json keeps its contract")
    func statsContract() throws {
        let run = try ozgtrack(["catalogue", "stats", "--format", "json"])
        #expect(run.status == 0)
        let object = try #require(try json(run.stdout) as? [String: Any])
        #expect(object["topicFields"] as? Int == 14)
        #expect(object["lifeSituations"] as? Int == 55)
        #expect(object["services"] as? Int == 557)
        #expect(object["leikaServices"] as? Int == 5_249)
        #expect(object["municipalities"] as? Int == 10_751)
        #expect(object["districts"] as? Int == 400)
        #expect(object["edition"] != nil)
        #expect(run.stderr.isEmpty)
    }

    @Test("works from any directory, without the source tree")
    func anyDirectory() throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(["catalogue", "topics"], in: directory)
            #expect(run.status == 0)
            #expect(run.stdout.contains("Mobilität & Reisen"))
            #expect(run.stdout.contains("Baden-Württemberg + Hessen"))
        }
    }

    @Test("topics as CSV have a header and 14 rows")
    func topicsCSV() throws {
        let run = try ozgtrack(["catalogue", "topics", "--format", "csv"])
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first == "nr,themenfeld,federfuehrung,bundesressort,beleg,leistungen,kommunal")
        #expect(lines.count == 15)
    }

    @Test("services filter by topic name and municipal flag")
    func servicesFilter() throws {
        let run = try ozgtrack(["catalogue", "services", "--topic", "familie", "--municipal", "--format", "json"])
        let items = try #require(try json(run.stdout) as? [[String: Any]])
        #expect(items.count == 36)
        #expect(items.allSatisfy { $0["municipal"] as? Bool == true && $0["themenfeld"] as? Int == 6 })
    }

    @Test("show lists a service's LeiKa services with their types")
    func show() throws {
        let run = try ozgtrack(["catalogue", "show", "10000"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("Elterngeld"))
        #expect(run.stdout.contains("99041006000000"))
        #expect(run.stdout.contains("2/3"))
    }

    @Test(
        "bad arguments fail with exit 2 and a precise message on stderr",
        arguments: [
            (["catalogue", "show", "1000"], "'1000' is not an OZG-ID"),
            (["catalogue", "show", "99999"], "'99999' is not in the catalogue"),
            (["regions", "show", "0811100"], "'0811100' is not a region key"),
            (["regions", "show", "08999999"], "is not in the territory edition 2025-11-30"),
            (["catalogue", "services", "--topic", "Raumfahrt"], "is not a Themenfeld"),
        ])
    func badArguments(arguments: [String], message: String) throws {
        let run = try ozgtrack(arguments)
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    @Test("a usage error shows the usage and exits 2")
    func usageError() throws {
        let run = try ozgtrack(["catalogue", "stats", "--no-such-option"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("Usage:"))
    }

    @Test("regions search finds München with or without umlauts")
    func search() throws {
        for query in ["munchen", "muenchen"] {
            let run = try ozgtrack(["regions", "search", query, "--format", "csv"])
            #expect(run.stdout.contains("09162000,\"München, Landeshauptstadt\""))
        }
    }

    @Test("regions list within a Kreis lists its Gemeinden")
    func list() throws {
        let run = try ozgtrack(["regions", "list", "--within", "08115", "--format", "json"])
        let items = try #require(try json(run.stdout) as? [[String: Any]])
        #expect(items.count == 26)
    }

    @Test("--version and about carry the Destatis attribution")
    func attribution() throws {
        let version = try ozgtrack(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("Statistisches Bundesamt (Destatis), 2025"))
        let about = try ozgtrack(["about"])
        #expect(about.stdout.contains("Vervielfältigung und Verbreitung, auch auszugsweise, mit Quellenangabe gestattet"))
    }

    @Test("a malformed --catalogue folder fails naming the file and line")
    func malformedFolder() throws {
        try withTemporaryDirectory { directory in
            let folder = directory.appendingPathComponent("catalogue")
            try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("catalogue"), to: folder)
            let file = folder.appendingPathComponent("ozg/lebenslagen.csv")
            var lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            lines[2] = "2,Abfall,X"
            try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            let run = try ozgtrack(["catalogue", "stats", "--catalogue", folder.path])
            #expect(run.status == 2)
            #expect(run.stderr.contains("\(file.path):3: themenfeld_nr: 'X'"), "\(run.stderr)")
            let viaEnvironment = try ozgtrack(["catalogue", "stats"], environment: ["OZGTRACK_CATALOGUE": folder.path])
            #expect(viaEnvironment.status == 2)
        }
    }
}
