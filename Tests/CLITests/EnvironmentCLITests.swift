import Foundation
import Testing

@Suite("CLI: the environment, '-' and shared options are read by the command-line tool only")
struct EnvironmentCLITests {
    @Test("SOURCE_DATE_EPOCH fixes the report's creation time")
    func sourceDateEpoch() throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(
                ["report", "--scope", "08115001", "--topic", "11", "--format", "json"], in: directory,
                environment: ["SOURCE_DATE_EPOCH": "1764547200"])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try json(run.stdout) as? [String: Any])
            let header = try #require(object["header"] as? [String: Any])
            #expect(header["createdAt"] as? String == "2025-12-01T00:00:00Z")
        }
    }

    @Test("SOURCE_DATE_EPOCH also fixes the XLSX workbook's creation time (docProps/core.xml)")
    func sourceDateEpochInWorkbook() throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(
                ["report", "--scope", "08115001", "--topic", "11", "--format", "xlsx", "--output", "r.xlsx"], in: directory,
                environment: ["SOURCE_DATE_EPOCH": "1764547200"])
            #expect(run.status == 0, "\(run.stderr)")
            let unzip = Process()
            unzip.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
            unzip.arguments = ["-p", directory.appendingPathComponent("r.xlsx").path, "docProps/core.xml"]
            let out = Pipe()
            unzip.standardOutput = out
            try unzip.run()
            let core = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            unzip.waitUntilExit()
            #expect(unzip.terminationStatus == 0)
            #expect(core.contains(">2025-12-01T00:00:00Z</dcterms:created>"), "\(core)")
        }
    }

    @Test("a malformed SOURCE_DATE_EPOCH is an input error naming the variable; nothing is written", arguments: ["yesterday", "1.5e9", "-1"])
    func malformedSourceDateEpoch(value: String) throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(
                ["report", "--scope", "08115001", "--output", "r.md"], in: directory, environment: ["SOURCE_DATE_EPOCH": value])
            #expect(run.status == 2)
            #expect(run.stderr.contains("SOURCE_DATE_EPOCH: '\(value)'"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("r.md").path))
        }
    }

    @Test("--catalogue wins over OZGTRACK_CATALOGUE, which wins over the built-in data")
    func catalogueResolution() throws {
        let missing = ["OZGTRACK_CATALOGUE": "/nonexistent/catalogue"]
        let folder = packageRoot.appendingPathComponent("catalogue").path
        #expect(try ozgtrack(["catalogue", "stats", "--catalogue", folder], environment: missing).status == 0)
        let viaEnvironment = try ozgtrack(["catalogue", "stats"], environment: missing)
        #expect(viaEnvironment.status == 2)
        #expect(viaEnvironment.stderr.contains("/nonexistent/catalogue"))
        #expect(try ozgtrack(["catalogue", "stats"]).status == 0)
    }

    @Test("'-' reads an XML report from standard input, for validate and import")
    func standardInput() throws {
        try withTemporaryDirectory { directory in
            let report = try Data(contentsOf: packageRoot.appendingPathComponent("Tests/Fixtures/xml/gemeinde-report.xml"))
            let valid = try ozgtrack(["validate", "-"], in: directory, input: report)
            #expect(valid.status == 0, "\(valid.stderr)")
            #expect(valid.stdout.contains("<stdin> is valid"))
            #expect(try ozgtrack(["init"], in: directory).status == 0)
            let imported = try ozgtrack(["import", "-", "--format", "xml", "--dry-run"], in: directory, input: report)
            #expect(imported.status == 0, "\(imported.stderr)")
            let broken = try ozgtrack(["validate", "-"], in: directory, input: Data("<nicht".utf8))
            #expect(broken.status == 1)
            #expect(broken.stdout.contains("<stdin>:"))
        }
    }

    @Test("every command with --scope checks the key the same way", arguments: [
        ["report"], ["diff", "--since", "2025-01-01"], ["check"], ["dump"],
    ])
    func scope(command: [String]) throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(command + ["--scope", "0811100"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("--scope: '0811100' is not a region key"), "\(run.stderr)")
        }
    }

    @Test("check --min-maturity takes the levels of the maturity models")
    func maturityRange() throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(["check", "--min-maturity", "8"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("--min-maturity takes a level from 0 to 7"), "\(run.stderr)")
        }
    }
}
