import Foundation
import Testing

@Suite("CLI: report and exporters")
struct ReportCLITests {
    func database(in directory: URL) throws {
        _ = try ozgtrack(["init"], in: directory)
        _ = try ozgtrack(["set", "08115", "10244", "--status", "online"], in: directory)
        _ = try ozgtrack(["set", "08115001", "10089", "--status", "online", "--maturity", "3", "--note", "=1+1"], in: directory)
    }

    @Test("report --output writes the file atomically and nothing to stdout")
    func outputFile() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let run = try ozgtrack(["report", "--scope", "081155001", "--topic", "11", "--format", "csv", "--output", "r.csv"], in: directory)
            #expect(run.status == 0)
            #expect(run.stdout.isEmpty)
            let text = try String(contentsOf: directory.appendingPathComponent("r.csv"), encoding: .utf8)
            #expect(text.split(separator: "\r\n").count == 31)
            #expect(text.contains("'=1+1"))
        }
    }

    @Test("CSV for German Excel: semicolons and a byte-order mark")
    func germanExcel() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let run = try ozgtrack(["report", "--scope", "08115001", "--topic", "11", "--format", "csv", "--delimiter", ";", "--bom"], in: directory)
            #expect(run.stdout.hasPrefix("\u{FEFF}region;region_name;"))
        }
    }

    @Test("a plugin on PATH becomes a format; it is listed by 'exporters'")
    func plugin() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let bin = directory.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            let script = bin.appendingPathComponent("ozgtrack-exporter-zeilen")
            try "#!/bin/sh\necho \"$(grep -c '\"type\":\"row\"') Zeilen\"\n".write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
            let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let run = try ozgtrack(["report", "--scope", "08115001", "--topic", "11", "--format", "zeilen"], in: directory, environment: ["PATH": path])
            #expect(run.status == 0)
            #expect(run.stdout == "15 Zeilen\n")
            let listing = try ozgtrack(["exporters", "--format", "csv"], in: directory, environment: ["PATH": path])
            #expect(listing.stdout.contains("zeilen,plugin,"))
        }
    }

    @Test("a failing plugin: exit 2, its stderr shown, no output file")
    func failingPlugin() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let bin = directory.appendingPathComponent("bin")
            try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
            let script = bin.appendingPathComponent("ozgtrack-exporter-kaputt")
            try "#!/bin/sh\necho teil\necho 'Vorlage fehlt' >&2\nexit 4\n".write(to: script, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
            let path = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let run = try ozgtrack(["report", "--format", "kaputt", "--scope", "08115001", "--output", "out.txt"], in: directory, environment: ["PATH": path])
            #expect(run.status == 2)
            #expect(run.stderr.contains("ozgtrack-exporter-kaputt exited with status 4"))
            #expect(run.stderr.contains("Vorlage fehlt"))
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out.txt").path))
        }
    }

    @Test("an unknown format or status is an error naming the choices", arguments: [
        (["report", "--format", "pdf"], "'pdf' is not a known format"),
        (["report", "--status", "fertig"], "'fertig' is not a status"),
    ])
    func unknown(arguments: [String], message: String) throws {
        try withTemporaryDirectory { directory in
            let run = try ozgtrack(arguments, in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
    }

    @Test("the ministry workflow: XML reports of several Gemeinden are imported together and reported for the Kreis")
    func ministryWorkflow() throws {
        try withTemporaryDirectory { directory in
            for (gemeinde, service) in [("08115001", "10089"), ("08115054", "10553")] {
                let db = "\(gemeinde).sqlite"
                _ = try ozgtrack(["init", "--db", db], in: directory)
                _ = try ozgtrack(["set", gemeinde, service, "--status", "online", "--maturity", "3", "--db", db], in: directory)
                let report = try ozgtrack(["report", "--scope", gemeinde, "--format", "xml", "--output", "\(gemeinde).xml", "--db", db], in: directory)
                #expect(report.status == 0)
                #expect(try ozgtrack(["validate", "\(gemeinde).xml"], in: directory).status == 0)
            }
            _ = try ozgtrack(["init", "--db", "land.sqlite"], in: directory)
            let imported = try ozgtrack(["import", "08115001.xml", "08115054.xml", "--db", "land.sqlite"], in: directory)
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.contains("2 inserted"))
            let check = try ozgtrack(["report", "--scope", "08115", "--format", "json", "--db", "land.sqlite"], in: directory)
            let object = try #require(try json(check.stdout) as? [String: Any])
            let overall = try #require((object["summary"] as? [String: Any])?["overall"] as? [String: Any])
            #expect(overall["online"] as? Int == 2)
        }
    }

    @Test("validate: 0 for a valid report, 1 for an invalid one with its lines, 2 for a missing file")
    func validate() throws {
        try withTemporaryDirectory { directory in
            let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/xml")
            #expect(try ozgtrack(["validate", fixtures.appendingPathComponent("gemeinde-report.xml").path], in: directory).status == 0)
            let invalid = try ozgtrack(["validate", fixtures.appendingPathComponent("schema-violations.xml").path], in: directory)
            #expect(invalid.status == 1)
            #expect(invalid.stdout.contains("schema-violations.xml:"))
            let entity = try ozgtrack(["validate", fixtures.appendingPathComponent("external-entity.xml").path], in: directory)
            #expect(entity.status == 1)
            #expect(entity.stdout.contains("DOCTYPE"))
            #expect(try ozgtrack(["validate", "missing.xml"], in: directory).status == 2)
        }
    }
}
