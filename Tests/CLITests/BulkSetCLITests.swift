import Foundation
import Testing

@Suite("CLI: set for many records at once (roll-outs), run as the built binary")
struct BulkSetCLITests {
    @Test("--within 08115 --level gemeinde writes every Gemeinde of Kreis Böblingen, as many as the registry lists, in one batch")
    func kreisRollOut() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let listed = try ozgtrack(["regions", "list", "--within", "08115", "--level", "gemeinde", "--format", "json"])
            let gemeinden = try #require(try json(listed.stdout) as? [[String: Any]]).compactMap { $0["key"] as? String }
            #expect(gemeinden.count == 26)
            let run = try ozgtrack(
                ["set", "--within", "08115", "--level", "gemeinde", "10000", "--status", "online", "--solution", "EfA Elterngeld digital"],
                in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n")
            #expect(lines.count == 27)
            #expect(lines.first == "created 08115001 Aidlingen, 10000 Elterngeld: status 'online', solution 'EfA Elterngeld digital'")
            #expect(lines.last == "26 records: 26 created, 0 updated, 0 unchanged")
            let dump = try ozgtrack(["dump"], in: directory).stdout
            for key in gemeinden { #expect(dump.contains("\n\(key),10000,online,,,,,,EfA Elterngeld digital,\n")) }
            // One transaction, one history batch: every change carries the same time.
            let diff = try ozgtrack(["diff", "--since", "2000-01-01", "--scope", "08115", "--format", "json"], in: directory)
            let changes = try #require(try json(diff.stdout) as? [[String: Any]])
            #expect(changes.count == 26)
            #expect(Set(changes.compactMap { $0["lastChangeAt"] as? String }).count == 1)
            // Again: nothing changes, nothing is written.
            let again = try ozgtrack(["set", "--within", "08115", "--level", "gemeinde", "10000", "--status", "online"], in: directory)
            #expect(again.stdout == "26 records: 0 created, 0 updated, 26 unchanged\n")
        }
    }

    @Test("--dry-run prints what would change and writes nothing")
    func dryRun() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            _ = try ozgtrack(["set", "08115001", "10000", "--status", "planned"], in: directory)
            let run = try ozgtrack(
                ["set", "--region", "08115001", "--region", "08115002", "10000", "--status", "online", "--dry-run"], in: directory)
            #expect(
                run.stdout == "updated 08115001 Aidlingen, 10000 Elterngeld: status 'planned' → 'online'\n"
                    + "created 08115002 Altdorf, 10000 Elterngeld: status 'online'\n"
                    + "2 records: 1 created, 1 updated, 0 unchanged (dry run: nothing written)\n")
            #expect(try ozgtrack(["dump"], in: directory).stdout.contains("08115001,10000,planned"))
            #expect(!(try ozgtrack(["dump"], in: directory).stdout.contains("08115002")))
        }
    }

    @Test("--format json lists every change with its fields before and after")
    func jsonOutput() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let run = try ozgtrack(
                ["set", "--service", "10000", "--service", "10001", "08115", "--status", "in_progress", "--format", "json"], in: directory)
            let object = try #require(try json(run.stdout) as? [String: Any])
            #expect(object["created"] as? Int == 2)
            #expect(object["records"] as? Int == 2)
            #expect(object["dryRun"] as? Bool == false)
            let changes = try #require(object["changes"] as? [[String: Any]])
            #expect(changes.map { $0["ozgID"] as? String } == ["10000", "10001"])
            #expect(changes.allSatisfy { $0["region"] as? String == "08115" && $0["regionName"] as? String == "Böblingen" })
            #expect((changes[0]["after"] as? [String: String])?["status"] == "in_progress")
        }
    }

    @Test(
        "positional keys take the role the options leave open: 5 digits are a Kreis or an OZG-ID by position, never by guess",
        arguments: [
            (["--region", "08115", "10046"], "08115,10046,"), (["--service", "10046", "08115"], "08115,10046,"),
            (["--service", "10046", "--region", "08115"], "08115,10046,"), (["08115", "10046"], "08115,10046,"),
        ])
    func roles(arguments: [String], expected: String) throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let run = try ozgtrack(["set"] + arguments + ["--status", "planned"], in: directory)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try ozgtrack(["dump"], in: directory).stdout.contains("\n" + expected + "planned"))
        }
    }

    @Test(
        "ambiguous or incomplete selections are usage errors (exit 2) that say what to give",
        arguments: [
            (["08115", "10000", "10001"], "expected REGION and OZG-ID (got 3 keys)"),
            (["08115"], "expected REGION and OZG-ID (got 1 key)"),
            (["--region", "08115", "--service", "10000", "08116"], "are ambiguous when both regions"),
            (["--level", "gemeinde", "10000"], "--level needs --within"),
            (["--within", "08115", "10000"], "--within needs --level"),
            (["--region", "08115"], "name the services to write"),
            (["--topic", "1"], "name the regions to write"),
        ])
    func usage(arguments: [String], message: String) throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let run = try ozgtrack(["set"] + arguments + ["--status", "online"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(run.stderr.contains("Usage: ozgtrack set"))
        }
    }

    @Test(
        "bad keys and impossible updates name the option or position, and nothing is written",
        arguments: [
            (["--within", "08115", "--level", "gemeinde", "99999", "--status", "online"], "OZG-ID: '99999' is not in the OZG catalogue"),
            (["--region", "08999", "10000", "--status", "online"], "--region: '08999' is not in the territory edition"),
            (["--within", "08115", "--level", "land", "10000", "--status", "online"], "--level: 08115 Böblingen has no units of level land"),
            (["--topic", "Nichts", "08115", "--status", "online"], "--topic: 'Nichts' is not a Themenfeld"),
            (["--region", "08115001", "--region", "08115002", "10000", "--maturity", "3"],
             "--status: region 08115002, OZG-ID 10000: missing for a record that does not exist yet"),
        ])
    func refused(arguments: [String], message: String) throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            _ = try ozgtrack(["set", "08115001", "10000", "--status", "online"], in: directory)
            let before = try ozgtrack(["dump"], in: directory).stdout
            let run = try ozgtrack(["set"] + arguments, in: directory)
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.contains(message), "\(run.stderr)")
            #expect(try ozgtrack(["dump"], in: directory).stdout == before)
        }
    }

    @Test("--topic writes every service of a Themenfeld")
    func topic() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let services = try ozgtrack(["catalogue", "services", "--topic", "1", "--format", "json"])
            let count = try #require(try json(services.stdout) as? [Any]).count
            let run = try ozgtrack(["set", "--topic", "1", "08111000", "--status", "planned"], in: directory)
            #expect(run.status == 0)
            #expect(run.stdout.hasSuffix("\(count) records: \(count) created, 0 updated, 0 unchanged\n"))
        }
    }
}
