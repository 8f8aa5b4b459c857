import Foundation
import TestSupport
import Testing

/// The README's minimal PostgreSQL setup ("A minimal setup with roles"), run as written against a real server: the
/// statements are read from README.md itself (only the `'…'` passwords are filled in), so the documentation and
/// this test cannot drift apart. Then the whole matrix through the CLI: the owner creates and upgrades the store;
/// the write role records (`set`, `import`) and reads; the read-only role reads (`status`, `report`, `history`,
/// `dump`, `check`) and is refused every write with one clear message, exit 2, nothing written; neither of them can
/// create or upgrade the store.
///
/// A cluster of the suite's own (``ThrowawayCluster``): the README's first block runs as a superuser (through the
/// cluster's Unix socket) and creates a database and roles, which the shared test server's role may not.
@Suite(
    "PostgreSQL: the README's roles and grants, owner / writer / reader, through the CLI", .serialized,
    .enabled(if: PostgresServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"))
final class PostgresRolesCLITests {
    let cluster: ThrowawayCluster
    let setup: ReadmeRoleSetup
    /// Each role's password (filled in for the README's `'…'`).
    let passwords: [String: String]
    let port: String

    init() throws {
        setup = try ReadmeRoleSetup.read()
        cluster = try ThrowawayCluster()
        port = try String(contentsOfFile: cluster.directory + "/port", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var passwords: [String: String] = [:]
        for role in setup.roles { passwords[role] = "Pw-\(role)-\(UInt32.random(in: 100_000...999_999))" }
        self.passwords = passwords
        // As a superuser: the database, the three roles, the database's grants.
        try superuser(setup.superuserScript(passwords: passwords))
        // As the owner: init (the README's command, pointed at this server), then the owner's grants.
        let initialized = try ozgtrack(["init", "--db", url(setup.initRole)])
        guard initialized.status == 0 else {
            throw Failure("the README's 'ozgtrack init' as \(setup.initRole) failed: \(initialized.stderr)")
        }
        try psql(setup.ownerScript, as: setup.initRole)
    }

    /// The connection URL of `role` (with its password) on the README's database.
    func url(_ role: String, schema: String? = nil) -> String {
        "postgresql://\(role):\(passwords[role] ?? "")@127.0.0.1:\(port)/\(setup.database)"
            + (schema.map { "?schema=\($0)" } ?? "")
    }

    var owner: String { setup.initRole }
    var writer: String { "ozg_writer" }
    var reader: String { "ozg_reader" }

    /// The store's records and batches as the owner sees them (to show that nothing was written).
    func contents() throws -> String {
        try psql(
            "SELECT (SELECT count(*) FROM ozgtrack.record_version) || ' versions, ' || (SELECT count(*) FROM ozgtrack.batch) "
                + "|| ' batches, newest ' || coalesce((SELECT max(id) FROM ozgtrack.batch), 0)",
            as: owner)
    }

    // MARK: - The matrix

    @Test("the README's setup names an owner, a write role and a read-only role, and grants no UPDATE or DELETE")
    func readmeSetup() throws {
        #expect(setup.roles == ["ozg_owner", "ozg_writer", "ozg_reader"])
        #expect(!setup.ownerScript.uppercased().contains("UPDATE"))
        #expect(!setup.ownerScript.uppercased().contains("DELETE"))
    }

    @Test("the owner creates the store and runs init again (idempotent)")
    func ownerInits() throws {
        let again = try ozgtrack(["init", "--db", url(owner)])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("is ready (already existed)"), "\(again.stdout)")
        #expect(!again.stdout.contains(passwords[owner] ?? "?"))
        let fresh = try ozgtrack(["init", "--db", url(owner, schema: "land_08")])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout.hasPrefix("created "), "\(fresh.stdout)")
    }

    @Test("the write role records with set and import, and reads", arguments: ["set", "import"])
    func writerWrites(command: String) throws {
        try withTemporaryDirectory { directory in
            let before = try contents()
            let run: Run
            if command == "set" {
                run = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--db", url(writer), "--actor", "writer"], in: directory)
            } else {
                let file = directory.appendingPathComponent("updates.csv")
                try """
                    region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note
                    08115001,10001,in_progress,,,2027-01-01,,,,
                    08115002,10001,online,2,1,,2026-10-01,https://example.org/a,,

                    """.write(to: file, atomically: true, encoding: .utf8)
                run = try ozgtrack(["import", file.path, "--db", url(writer), "--actor", "writer"], in: directory)
            }
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try contents() != before)
            let region = command == "set" ? "08111000" : "08115002"
            let history = try ozgtrack(["history", region, "--db", url(writer), "--format", "json"], in: directory)
            #expect(history.status == 0, "\(history.stderr)")
            #expect(history.stdout.contains("\"writer\""), "\(history.stdout)")
        }
    }

    @Test(
        "the read-only role reads with every reading command",
        arguments: [
            ["status", "08111000"], ["report", "--scope", "08111000", "--format", "csv"], ["history", "08111000"], ["dump"],
            ["check", "--scope", "08111000"],
        ])
    func readerReads(arguments: [String]) throws {
        #expect(try ozgtrack(["set", "08111000", "10002", "--status", "planned", "--db", url(writer)]).status == 0)
        let run = try ozgtrack(arguments + ["--db", url(reader)])
        // `check` exits 1 when it finds something to report: that is a finished read too.
        #expect(run.status == 0 || (arguments[0] == "check" && run.status == 1), "\(run.stderr)")
        #expect(run.stderr.isEmpty || arguments[0] == "check", "\(run.stderr)")
        #expect(!run.stdout.isEmpty)
        // The same output as the owner's.
        #expect(run.stdout == (try ozgtrack(arguments + ["--db", url(owner)])).stdout)
    }

    @Test("the read-only role is refused every write: one message, exit 2, nothing written", arguments: ["set", "import", "bulk set"])
    func readerRefused(command: String) throws {
        try withTemporaryDirectory { directory in
            let before = try contents()
            let run: Run
            switch command {
            case "set":
                run = try ozgtrack(["set", "08111000", "10000", "--status", "not_applicable", "--db", url(reader)], in: directory)
            case "import":
                let file = directory.appendingPathComponent("updates.csv")
                try "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n08115003,10000,online,,,,,,,\n"
                    .write(to: file, atomically: true, encoding: .utf8)
                run = try ozgtrack(["import", file.path, "--db", url(reader)], in: directory)
            default:
                run = try ozgtrack(
                    ["set", "--region", "08115001", "--region", "08115002", "10000", "--status", "planned", "--db", url(reader)],
                    in: directory)
            }
            #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
            #expect(run.stderr.hasPrefix("ozgtrack: error: "), "\(run.stderr)")
            #expect(run.stderr.contains("permission denied"), "\(run.stderr)")
            #expect(run.stderr.contains("nothing was written"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            #expect(!run.stderr.contains(passwords[reader] ?? "?"))
            #expect(try contents() == before)
        }
    }

    @Test("neither the write role nor the read-only role can create a store", arguments: ["ozg_writer", "ozg_reader"])
    func othersCannotCreate(role: String) throws {
        let schema = "new_\(role)"
        let run = try ozgtrack(["init", "--db", url(role, schema: schema)])
        #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
        #expect(run.stderr.contains("permission denied"), "\(run.stderr)")
        #expect(run.stderr.contains("needs its owner"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(!run.stderr.contains(passwords[role] ?? "?"))
        #expect(try psql("SELECT count(*) FROM pg_namespace WHERE nspname = '\(schema)'", as: owner) == "0")
    }

    @Test("an older store: only the owner upgrades it; the others are refused, nothing changed")
    func onlyOwnerMigrates() throws {
        // The store as schema version 1 wrote it: without the token table, `batch` as bigint, no later version rows.
        try psql(
            "DROP TABLE ozgtrack.access_token; ALTER TABLE ozgtrack.record_version ALTER COLUMN batch TYPE bigint; "
                + "DELETE FROM ozgtrack.schema_version WHERE version >= 2", as: owner)
        let before = try contents()
        for role in [writer, reader] {
            let initialized = try ozgtrack(["init", "--db", url(role)])
            #expect(initialized.status == 2, "\(role): \(initialized.stdout) \(initialized.stderr)")
            #expect(initialized.stderr.contains("needs its owner"), "\(role): \(initialized.stderr)")
            #expect(initialized.stderr.split(separator: "\n").count == 1, "\(initialized.stderr)")
        }
        // A write would upgrade first: the write role may not.
        let set = try ozgtrack(["set", "08111000", "10000", "--status", "planned", "--db", url(writer)])
        #expect(set.status == 2, "\(set.stderr)")
        #expect(set.stderr.contains("needs its owner"), "\(set.stderr)")
        #expect(set.stderr.contains("nothing was written"), "\(set.stderr)")
        #expect(set.stderr.split(separator: "\n").count == 1, "\(set.stderr)")
        // A read is told to upgrade.
        let status = try ozgtrack(["status", "08111000", "--db", url(reader)])
        #expect(status.status == 2, "\(status.stderr)")
        #expect(status.stderr.contains("run 'ozgtrack init' once to upgrade it"), "\(status.stderr)")
        #expect(try psql("SELECT max(version) FROM ozgtrack.schema_version", as: owner) == "1")
        #expect(try contents() == before)

        let upgraded = try ozgtrack(["init", "--db", url(owner)])
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(try psql("SELECT max(version) FROM ozgtrack.schema_version", as: owner) == "3")
        #expect(try ozgtrack(["set", "08111000", "10000", "--status", "online", "--db", url(writer)]).status == 0)
        #expect(try ozgtrack(["status", "08111000", "--db", url(reader)]).status == 0)
    }

    // MARK: - psql

    /// Runs a script through `psql` as the cluster's superuser (the Unix socket, trusted for it).
    func superuser(_ script: String) throws {
        _ = try runPsql(
            ["--host=\(cluster.directory)/socket", "--port=\(port)", "--username=postgres", "--dbname=postgres"], script: script)
    }

    /// Runs SQL through `psql` as `role` on the README's database; returns its output (unaligned, tuples only).
    @discardableResult
    func psql(_ sql: String, as role: String) throws -> String {
        try runPsql([url(role)], script: sql)
    }

    private func runPsql(_ connection: [String], script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1"] + connection
        let input = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure("psql failed (\(process.terminationStatus)): \(String(decoding: errors, as: UTF8.self))\n\(script)")
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// The README's section "A minimal setup with roles": its SQL block run as a superuser, its `ozgtrack init` command,
/// its SQL block run as the owner after init — read from README.md as they are written there.
struct ReadmeRoleSetup {
    /// The superuser's statements, with `'…'` where each role's password goes.
    var superuserTemplate: String
    /// The statements the owner runs after init.
    var ownerScript: String
    /// The roles created, in order.
    var roles: [String]
    /// The database created.
    var database: String
    /// The role in the README's `ozgtrack init` URL.
    var initRole: String

    static func read() throws -> ReadmeRoleSetup {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        guard let start = readme.range(of: "**A minimal setup with roles.**"),
            let end = readme.range(of: "History is only ever appended to", range: start.upperBound..<readme.endIndex)
        else { throw PostgresRolesCLITests.Failure("README.md has no section 'A minimal setup with roles'") }
        let section = readme[start.upperBound..<end.lowerBound]
        // The fenced blocks, with their language.
        var blocks: [(language: String, text: String)] = []
        var current: (language: String, lines: [Substring])?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let open = current {
                    blocks.append((open.language, open.lines.joined(separator: "\n")))
                    current = nil
                } else {
                    current = (String(line.dropFirst(3)), [])
                }
            } else if current != nil {
                current?.lines.append(line)
            }
        }
        guard blocks.map(\.language) == ["sql", "sh", "sql"] else {
            throw PostgresRolesCLITests.Failure("the README's role setup is no longer sql, sh, sql blocks: \(blocks.map(\.language))")
        }
        let superuser = blocks[0].text
        let roles = superuser.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count > 2, words[0] == "CREATE", words[1] == "ROLE" else { return nil }
            return String(words[2])
        }
        guard let databaseLine = superuser.split(separator: "\n").first(where: { $0.hasPrefix("CREATE DATABASE ") }),
            let database = databaseLine.dropFirst("CREATE DATABASE ".count).split(separator: ";").first
        else { throw PostgresRolesCLITests.Failure("the README's role setup creates no database") }
        // `ozgtrack init --db 'postgresql://ROLE@HOST/DATABASE'`
        let command = blocks[1].text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard command.hasPrefix("ozgtrack init --db 'postgresql://"), let at = command.firstIndex(of: "@"),
            command.hasSuffix("/\(database)'")
        else { throw PostgresRolesCLITests.Failure("the README's init command changed: \(command)") }
        let role = String(command[command.index(command.startIndex, offsetBy: "ozgtrack init --db 'postgresql://".count)..<at])
        return ReadmeRoleSetup(
            superuserTemplate: superuser, ownerScript: blocks[2].text, roles: roles, database: String(database), initRole: role)
    }

    /// The superuser's statements with each role's password filled in for its `'…'`.
    func superuserScript(passwords: [String: String]) throws -> String {
        try superuserTemplate.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard line.contains("PASSWORD '…'") else { return String(line) }
            guard let role = roles.first(where: { line.contains("ROLE \($0) ") }), let password = passwords[role] else {
                throw PostgresRolesCLITests.Failure("no role for the password in: \(line)")
            }
            return line.replacingOccurrences(of: "PASSWORD '…'", with: "PASSWORD '\(password)'")
        }.joined(separator: "\n")
    }
}
