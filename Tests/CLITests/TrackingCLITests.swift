import Foundation
import Testing

@Suite("CLI: init, set, import, status, history, diff, check, dump")
struct TrackingCLITests {
    let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    @Test("init is idempotent; set prints updated, then unchanged")
    func setIdempotent() throws {
        try withTemporaryDirectory { directory in
            #expect(try ozgtrack(["init"], in: directory).stdout == "created ozgtrack.sqlite\n")
            #expect(try ozgtrack(["init"], in: directory).status == 0)
            let first = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--maturity", "3"], in: directory)
            #expect(first.stdout == "updated\n")
            #expect(first.status == 0)
            let second = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--maturity", "3"], in: directory)
            #expect(second.stdout == "unchanged\n")
            #expect(second.status == 0)
            let result = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--format", "json"], in: directory)
            let object = try #require(try json(result.stdout) as? [String: Any])
            #expect(object["result"] as? String == "unchanged")
            let history = try ozgtrack(["history", "08111000", "--format", "json"], in: directory)
            #expect((try json(history.stdout) as? [Any])?.count == 1)
        }
    }

    @Test("OZGTRACK_DB and --db name the database; a named database that does not exist is an error")
    func databasePath() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("elsewhere.sqlite").path
            #expect(try ozgtrack(["init"], in: directory, environment: ["OZGTRACK_DB": path]).status == 0)
            #expect(FileManager.default.fileExists(atPath: path))
            let set = try ozgtrack(["set", "08111000", "10000", "--status", "planned", "--db", path], in: directory)
            #expect(set.status == 0)
            let missing = try ozgtrack(["status", "08111000", "--db", directory.appendingPathComponent("nope.sqlite").path], in: directory)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("no database at"))
            let write = try ozgtrack(["set", "08111000", "10000", "--status", "planned"], in: directory)
            #expect(write.status == 2)
            #expect(write.stderr.contains("ozgtrack init"))
        }
    }

    @Test("import of a file with bad rows: exit 2, FILE:LINE messages on stderr, nothing written")
    func importBadRows() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let file = directory.appendingPathComponent("updates.csv")
            try (header + "08111000,10000,online,,,,,,,\n08111000,10001,onlin,,,,,,,\n08111000,10002,online,9,,,,,,\n")
                .write(to: file, atomically: true, encoding: .utf8)
            let run = try ozgtrack(["import", "updates.csv"], in: directory)
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.contains("updates.csv:3: status: 'onlin' is not a status"))
            #expect(run.stderr.contains("updates.csv:4: maturity: '9' is out of range"))
            #expect(try ozgtrack(["dump"], in: directory).stdout == header)
        }
    }

    @Test("import --dry-run reports counts and writes nothing; a real import then writes")
    func importDryRun() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let file = directory.appendingPathComponent("u.csv")
            try (header + "08111000,10000,online,,,,,,,\n08111000,10001,planned,,,,,,,\n").write(to: file, atomically: true, encoding: .utf8)
            let dry = try ozgtrack(["import", "u.csv", "--dry-run", "--summary", "json"], in: directory)
            let summary = try #require(try json(dry.stdout) as? [String: Any])
            #expect(summary["inserted"] as? Int == 2)
            #expect(summary["dryRun"] as? Bool == true)
            #expect(try ozgtrack(["dump"], in: directory).stdout == header)
            let real = try ozgtrack(["import", "u.csv"], in: directory)
            #expect(real.stdout == "imported 2 rows: 2 inserted, 0 updated, 0 unchanged\n")
        }
    }

    /// The ministry's `import *.xml` names thousands of files; long runs of names are folded while the command
    /// line is parsed (`FileRuns`). Two runs of 20 here, with options between them.
    @Test("import of many files takes them all, in the order given, with options among them")
    func importManyFiles() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init", "--db", "many.sqlite"], in: directory)
            let listing = try ozgtrack(["regions", "list", "--within", "08115", "--level", "gemeinde", "--format", "json"], in: directory)
            let gemeinden = try #require(try json(listing.stdout) as? [[String: Any]]).compactMap { $0["key"] as? String }
            let records = ["10000", "10001"].flatMap { service in gemeinden.map { ($0, service) } }.prefix(40)
            try #require(records.count == 40)
            let names = (0..<40).map { String(format: "f%02d.csv", $0) }
            for (name, record) in zip(names, records) {
                try (header + "\(record.0),\(record.1),online,,,,,,,\n").write(
                    to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
            let arguments = ["import"] + names[..<20] + ["--db", "many.sqlite", "--actor", "ministry"] + names[20...]
            let run = try ozgtrack(arguments, in: directory)
            #expect(run.status == 0)
            #expect(run.stdout == "imported 40 rows: 40 inserted, 0 updated, 0 unchanged\n")
            let history = try ozgtrack(["history", records[0].0, "--db", "many.sqlite", "--format", "json"], in: directory)
            let first = try #require((try json(history.stdout) as? [[String: Any]])?.first)
            #expect(first["source"] as? String == names.joined(separator: ", "))
            #expect(first["actor"] as? String == "ministry")
            // A record in the last file that the first file had: named with both files, nothing written.
            try (header + "\(records[0].0),\(records[0].1),planned,,,,,,,\n").write(
                to: directory.appendingPathComponent(names[39]), atomically: true, encoding: .utf8)
            _ = try ozgtrack(["init", "--db", "again.sqlite"], in: directory)
            let twice = try ozgtrack(["import"] + names[..<20] + ["--db", "again.sqlite"] + names[20...], in: directory)
            #expect(twice.status == 2)
            #expect(twice.stderr.contains("f39.csv:2: region \(records[0].0) and OZG-ID \(records[0].1) appear again (first on f00.csv:2)"))
            #expect(try ozgtrack(["dump", "--db", "again.sqlite"], in: directory).stdout == header)
        }
    }

    @Test("dump → import into an empty database → dump reproduces the bytes")
    func dumpRoundTrip() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init", "--db", "a.sqlite"], in: directory)
            _ = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--note", "eins, \"zwei\"\ndrei", "--db", "a.sqlite"], in: directory)
            _ = try ozgtrack(["set", "08115", "10046", "--status", "in Umsetzung", "--maturity", "2", "--db", "a.sqlite"], in: directory)
            let dump = try ozgtrack(["dump", "--db", "a.sqlite", "--output", "state.csv"], in: directory)
            #expect(dump.status == 0)
            _ = try ozgtrack(["init", "--db", "b.sqlite"], in: directory)
            #expect(try ozgtrack(["import", "state.csv", "--db", "b.sqlite"], in: directory).status == 0)
            let again = try ozgtrack(["dump", "--db", "b.sqlite"], in: directory)
            let original = try String(contentsOf: directory.appendingPathComponent("state.csv"), encoding: .utf8)
            #expect(again.stdout == original)
            #expect(original.contains("\"eins, \"\"zwei\"\"\ndrei\""))
        }
    }

    @Test("status shows every service, untracked ones included, with a summary")
    func status() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            _ = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--maturity", "3"], in: directory)
            let run = try ozgtrack(["status", "08111000", "--format", "json"], in: directory)
            let object = try #require(try json(run.stdout) as? [String: Any])
            #expect((object["services"] as? [Any])?.count == 557)
            let counts = try #require(object["counts"] as? [String: Any])
            #expect(counts["online"] as? Int == 1)
            #expect(counts["maturityAtLeast3"] as? Int == 1)
            let table = try ozgtrack(["status", "08111000", "--topic", "familie"], in: directory)
            #expect(table.stdout.contains("online: 1 von 37"))
        }
    }

    @Test("diff exits 0 without changes and 1 with; check exits 0 when it holds and 1 when it falls short")
    func exitCodes() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            #expect(try ozgtrack(["diff", "--since", "2000-01-01"], in: directory).status == 0)
            _ = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--maturity", "2"], in: directory)
            let diff = try ozgtrack(["diff", "--since", "2000-01-01", "--format", "csv"], in: directory)
            #expect(diff.status == 1)
            #expect(diff.stdout.contains("08111000,10000,true,1,"))
            #expect(try ozgtrack(["diff", "--since", "2000-01-01", "--until", "2000-12-31"], in: directory).status == 0)
            #expect(try ozgtrack(["check", "--scope", "08111000", "--min-online", "0.1"], in: directory).status == 0)
            let short = try ozgtrack(["check", "--scope", "08111000", "--min-maturity", "3", "--format", "json"], in: directory)
            #expect(short.status == 1)
            let result = try #require(try json(short.stdout) as? [String: Any])
            #expect(result["holds"] as? Bool == false)
            #expect(try ozgtrack(["check", "--min-online", "200"], in: directory).status == 2)
            #expect(try ozgtrack(["diff", "--since", "gestern"], in: directory).status == 2)
        }
    }

    @Test("two processes doing 200 sets each on one database: all 400 recorded, none fails")
    func concurrentWriters() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let catalogue = try String(contentsOf: packageRoot.appendingPathComponent("catalogue/ozg/leistungen.csv"), encoding: .utf8)
            let services = catalogue.split(separator: "\n").dropFirst().prefix(200).map { String($0.prefix(5)) }
            let failures = Failures()
            let group = DispatchGroup()
            for region in ["08111000", "08115001"] {
                group.enter()
                DispatchQueue.global().async {
                    defer { group.leave() }
                    for service in services {
                        do {
                            let run = try ozgtrack(["set", region, service, "--status", "online", "--actor", region], in: directory)
                            if run.status != 0 { failures.add("\(region) \(service): \(run.stderr)") }
                        } catch {
                            failures.add("\(region) \(service): \(error)")
                        }
                    }
                }
            }
            group.wait()
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let dump = try ozgtrack(["dump"], in: directory).stdout
            #expect(dump.split(separator: "\n").count == 401)
            for region in ["08111000", "08115001"] {
                let history = try ozgtrack(["history", region, "--format", "json"], in: directory)
                #expect((try json(history.stdout) as? [Any])?.count == 200)
            }
        }
    }

    @Test("text tables show control and bidirectional-override characters of stored values escaped, never raw")
    func tablesEscapeStoredText() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let note = "Zeile 1\nZeile 2 \u{202E}gnp.exe\u{202C} \u{85}\u{9B}31m"
            let set = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--note", note, "--actor", "a\u{2066}b"], in: directory)
            #expect(set.status == 0, "\(set.stderr)")
            let history = try ozgtrack(["history", "08111000"], in: directory)
            #expect(history.status == 0)
            for raw: Unicode.Scalar in ["\u{202E}", "\u{202C}", "\u{2066}", "\u{85}", "\u{9B}"] {
                #expect(!history.stdout.unicodeScalars.contains(raw), "U+\(String(raw.value, radix: 16)) printed raw")
            }
            #expect(history.stdout.contains("\\u{202e}gnp.exe"))
            // The line break inside the note does not start a new table line: header, rule, one change.
            #expect(history.stdout.split(separator: "\n").count == 3)
        }
    }

    @Test("dashboard exports import through the CLI")
    func dashboard() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let fixture = packageRoot.appendingPathComponent("Tests/Fixtures/dashboard/export.csv").path
            let run = try ozgtrack(["import", fixture, "--format", "dashboard"], in: directory)
            #expect(run.status == 0)
            #expect(run.stdout.contains("3 inserted"))
            #expect(run.stderr.contains("is not active in the dashboard: left unchanged"))
        }
    }
}

/// Failures collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ item: String) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
