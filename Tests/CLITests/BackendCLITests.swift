import Foundation
import Testing

/// The same commands on both backends: every command behaves exactly as on SQLite when `--db` names a PostgreSQL
/// database (a fresh schema on the server of `scripts/test.sh` per test).
@Suite("CLI on both backends: same commands, same output")
struct BackendCLITests {
    let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    @Test("init is idempotent; set prints updated, then unchanged; history has one change", arguments: Backend.tested)
    func setIdempotent(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let store = try TestStore(backend, in: directory)
            #expect(try ozgtrack(store.args(["init"]), in: directory).status == 0)
            #expect(try ozgtrack(store.args(["init"]), in: directory).status == 0)
            let first = try ozgtrack(store.args(["set", "08111000", "10000", "--status", "online", "--maturity", "3"]), in: directory)
            #expect(first.stdout == "updated\n", "\(first.stderr)")
            let second = try ozgtrack(store.args(["set", "08111000", "10000", "--status", "online", "--maturity", "3"]), in: directory)
            #expect(second.stdout == "unchanged\n", "\(second.stderr)")
            let history = try ozgtrack(store.args(["history", "08111000", "--format", "json"]), in: directory)
            #expect((try json(history.stdout) as? [Any])?.count == 1)
        }
    }

    @Test("OZGTRACK_DB selects the database like --db", arguments: Backend.tested)
    func environmentVariable(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let store = try TestStore(backend, in: directory, name: "env.sqlite")
            let environment = ["OZGTRACK_DB": store.location]
            #expect(try ozgtrack(["init"], in: directory, environment: environment).status == 0)
            #expect(try ozgtrack(["set", "08111000", "10000", "--status", "planned"], in: directory, environment: environment).status == 0)
            #expect(try ozgtrack(store.args(["dump"]), in: directory).stdout == header + "08111000,10000,planned,,,,,,,\n")
        }
    }

    @Test("a writing command before init is refused with a pointer to init", arguments: Backend.tested)
    func writeBeforeInit(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let store = try TestStore(backend, in: directory)
            let run = try ozgtrack(store.args(["set", "08111000", "10000", "--status", "planned"]), in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("ozgtrack init"), "\(run.stderr)")
        }
    }

    @Test("an import with bad rows writes nothing: exit 2, FILE:LINE messages", arguments: Backend.tested)
    func importBadRows(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let store = try TestStore(backend, in: directory)
            _ = try ozgtrack(store.args(["init"]), in: directory)
            try (header + "08111000,10000,online,,,,,,,\n08111000,10001,onlin,,,,,,,\n")
                .write(to: directory.appendingPathComponent("u.csv"), atomically: true, encoding: .utf8)
            let run = try ozgtrack(store.args(["import", "u.csv"]), in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("u.csv:3: status: 'onlin' is not a status"))
            #expect(try ozgtrack(store.args(["dump"]), in: directory).stdout == header)
        }
    }

    @Test("dump → import into an empty store → dump reproduces the bytes", arguments: Backend.tested)
    func dumpRoundTrip(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let source = try TestStore(.sqlite, in: directory, name: "source.sqlite")
            try Self.fill(source, in: directory)
            #expect(try ozgtrack(source.args(["dump", "--output", "state.csv"]), in: directory).status == 0)
            let target = try TestStore(backend, in: directory, name: "target.sqlite")
            _ = try ozgtrack(target.args(["init"]), in: directory)
            let imported = try ozgtrack(target.args(["import", "state.csv"]), in: directory)
            #expect(imported.status == 0, "\(imported.stderr)")
            let original = try String(contentsOf: directory.appendingPathComponent("state.csv"), encoding: .utf8)
            #expect(try ozgtrack(target.args(["dump"]), in: directory).stdout == original)
        }
    }

    @Test("every reading command gives the same output on both backends")
    func sameOutput() throws {
        guard PostgresServer.enabled else { return }
        try withTemporaryDirectory { directory in
            let sqlite = try TestStore(.sqlite, in: directory)
            let postgres = try TestStore(.postgres, in: directory)
            for store in [sqlite, postgres] { try Self.fill(store, in: directory) }
            let environment = ["SOURCE_DATE_EPOCH": "1767225600"]
            var commands: [[String]] = [
                ["dump"], ["dump", "--scope", "08"], ["dump", "--as-of", "2025-03-31"],
                ["status", "08111000", "--format", "json"], ["status", "08111000", "--as-of", "2025-03-31", "--format", "json"],
                ["status", "08115001", "--format", "csv"],
                ["history", "08111000", "--format", "json"], ["history", "08111000", "10000", "--since", "2025-03-01", "--format", "csv"],
                ["diff", "--since", "2025-01-01", "--format", "json"], ["diff", "--since", "2025-02-01", "--until", "2025-04-30", "--format", "csv"],
                ["diff", "--since", "2025-01-01", "--scope", "08115", "--format", "csv"],
                ["check", "--scope", "08115", "--min-online", "1", "--format", "json"],
                ["check", "--scope", "08", "--min-maturity", "2", "--municipal", "--format", "json"],
            ]
            for format in ["csv", "json", "jsonl", "markdown", "xml"] {
                commands.append(["report", "--scope", "08115", "--format", format])
                commands.append(["report", "--scope", "08115", "--as-of", "2025-03-31", "--format", format])
            }
            commands.append(["report", "--scope", "08", "--format", "csv"])
            for command in commands {
                let expected = try ozgtrack(sqlite.args(command), in: directory, environment: environment)
                let actual = try ozgtrack(postgres.args(command), in: directory, environment: environment)
                #expect(actual.status == expected.status, "\(command): \(actual.stderr)")
                #expect(actual.stdout == expected.stdout, "\(command)")
                #expect(!expected.stdout.isEmpty, "\(command)")
            }
        }
    }

    @Test(
        "db copy moves a whole store, history included, between backends: dump and history are equal",
        arguments: [(Backend.sqlite, Backend.postgres), (.postgres, .sqlite), (.postgres, .postgres), (.sqlite, .sqlite)])
    func copy(from: Backend, to: Backend) throws {
        guard PostgresServer.enabled || (from == .sqlite && to == .sqlite) else { return }
        try withTemporaryDirectory { directory in
            let source = try TestStore(from, in: directory, name: "from.sqlite")
            try Self.fill(source, in: directory)
            let target = try TestStore(to, in: directory, name: "to.sqlite")
            let copied = try ozgtrack(["db", "copy", source.location, target.location], in: directory)
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(!copied.stderr.contains("ozgtrack:"), "\(copied.stderr)")
            for command in [["dump"], ["dump", "--as-of", "2025-03-31"], ["history", "08111000", "--format", "json"],
                ["history", "08115", "--format", "json"], ["diff", "--since", "2000-01-01", "--format", "json"]]
            {
                let expected = try ozgtrack(source.args(command), in: directory)
                let actual = try ozgtrack(target.args(command), in: directory)
                #expect(actual.stdout == expected.stdout, "\(command): \(actual.stderr)")
            }
            // A second copy into the now filled target is refused and changes nothing.
            let again = try ozgtrack(["db", "copy", source.location, target.location], in: directory)
            #expect(again.status == 2)
            #expect(again.stderr.contains("already holds records"), "\(again.stderr)")
            let history = try ozgtrack(target.args(["history", "08111000", "--format", "json"]), in: directory)
            #expect((try json(history.stdout) as? [Any])?.count == 4)
        }
    }

    @Test("a store of schema version 2 (batch ids as bigint) upgraded by init reads the same: dump, history, diff")
    func upgradeFromVersionTwo() throws {
        guard PostgresServer.enabled else { return }
        try withTemporaryDirectory { directory in
            let (url, schema) = try PostgresServer.freshURL()
            defer { _ = try? PostgresServer.psql("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE") }
            let store = TestStore(location: url)
            try Self.fill(store, in: directory)
            let commands = [
                ["dump"], ["dump", "--as-of", "2025-03-31"], ["history", "08111000", "--format", "json"],
                ["history", "08115", "--format", "json"], ["diff", "--since", "2000-01-01", "--format", "json"],
                ["report", "--scope", "08115", "--as-of", "2025-03-31", "--format", "csv"],
            ]
            let environment = ["SOURCE_DATE_EPOCH": "1767225600"]
            let before = try commands.map { try ozgtrack(store.args($0), in: directory, environment: environment) }
            // The layout schema version 2 wrote: `batch` as bigint, no row for version 3.
            try PostgresServer.psql(
                "ALTER TABLE \"\(schema)\".record_version ALTER COLUMN batch TYPE bigint; "
                    + "DELETE FROM \"\(schema)\".schema_version WHERE version = 3")
            let batchType =
                "SELECT data_type FROM information_schema.columns WHERE table_schema = '\(schema)' "
                + "AND table_name = 'record_version' AND column_name = 'batch'"
            #expect(try PostgresServer.psql(batchType) == "bigint")
            let refused = try ozgtrack(store.args(["status", "08111000"]), in: directory)
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("run 'ozgtrack init' once to upgrade it"), "\(refused.stderr)")

            let upgraded = try ozgtrack(store.args(["init"]), in: directory)
            #expect(upgraded.status == 0, "\(upgraded.stderr)")
            #expect(try PostgresServer.psql(batchType) == "integer")
            #expect(try PostgresServer.psql("SELECT max(version) FROM \"\(schema)\".schema_version") == "3")
            for (command, expected) in zip(commands, before) {
                let actual = try ozgtrack(store.args(command), in: directory, environment: environment)
                #expect(actual.status == expected.status, "\(command): \(actual.stderr)")
                #expect(actual.stdout == expected.stdout, "\(command)")
                #expect(!expected.stdout.isEmpty, "\(command)")
            }
            // And the upgraded store takes the next write.
            let set = try ozgtrack(store.args(["set", "08111000", "10000", "--status", "planned", "--recorded-at", "2025-06-01"]), in: directory)
            #expect(set.status == 0, "\(set.stderr)")
            let history = try ozgtrack(store.args(["history", "08111000", "10000", "--format", "json"]), in: directory)
            #expect((try json(history.stdout) as? [Any])?.count == 4)
        }
    }

    @Test("several processes write at once: every set and import lands, history complete", arguments: Backend.tested)
    func concurrentSetsAndImports(backend: Backend) throws {
        try withTemporaryDirectory { directory in
            let store = try TestStore(backend, in: directory)
            _ = try ozgtrack(store.args(["init"]), in: directory)
            var files: [URL] = []
            for within in ["08115", "08116"] {
                let data = directory.appendingPathComponent("data-\(within)")
                #expect(try ozgtrack(["bench-data", "--output", data.path, "--within", within], in: directory).status == 0)
                files.append(data.appendingPathComponent("national.csv"))
            }
            let importRows = try files.map { try String(contentsOf: $0, encoding: .utf8).split(separator: "\n").count - 1 }
            let services = try String(contentsOf: packageRoot.appendingPathComponent("catalogue/ozg/leistungen.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().prefix(25).map { String($0.prefix(5)) }
            let setRegions = ["08111000", "08121000", "08125001", "08212000"]
            let failures = Failures()
            let group = DispatchGroup()
            for region in setRegions {
                group.enter()
                DispatchQueue.global().async {
                    defer { group.leave() }
                    for service in services {
                        do {
                            let run = try ozgtrack(store.args(["set", region, service, "--status", "online", "--actor", region]), in: directory)
                            if run.status != 0 { failures.add("\(region) \(service): \(run.stderr)") }
                        } catch {
                            failures.add("\(region) \(service): \(error)")
                        }
                    }
                }
            }
            for file in files {
                group.enter()
                DispatchQueue.global().async {
                    defer { group.leave() }
                    do {
                        let run = try ozgtrack(store.args(["import", file.path, "--actor", "import"]), in: directory)
                        if run.status != 0 { failures.add("import \(file.path): \(run.stderr)") }
                    } catch {
                        failures.add("import \(file.path): \(error)")
                    }
                }
            }
            group.wait()
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let dump = try ozgtrack(store.args(["dump"]), in: directory).stdout
            #expect(dump.split(separator: "\n").count == 1 + setRegions.count * services.count + importRows.reduce(0, +))
            for region in setRegions {
                let history = try ozgtrack(store.args(["history", region, "--format", "json"]), in: directory)
                let changes = try #require(try json(history.stdout) as? [[String: Any]])
                #expect(changes.count == services.count)
                // In order: the history's times never go back.
                let times = changes.compactMap { $0["at"] as? String }
                #expect(times == times.sorted(), "\(region)")
            }
        }
    }

    /// A store with history: three changes of 08111000 10000 back-filled over three months, a Kreis record and
    /// a few more services, with values that need escaping.
    static func fill(_ store: TestStore, in directory: URL) throws {
        let steps: [[String]] = [
            ["init"],
            ["set", "08111000", "10000", "--status", "planned", "--planned", "2025-06-30", "--recorded-at", "2025-01-15"],
            ["set", "08111000", "10001", "--status", "in_progress", "--note", "tab\there, \"quoted\"\nsecond line \\N", "--recorded-at", "2025-01-20"],
            ["set", "08115", "10046", "--status", "online", "--maturity", "3", "--url", "https://example.org/k?x=1", "--recorded-at", "2025-02-01"],
            ["set", "08111000", "10000", "--status", "in_progress", "--maturity", "2", "--recorded-at", "2025-03-01"],
            ["set", "08115001", "10000", "--status", "online", "--maturity", "6", "--maturity-model", "2", "--online-since", "2025-03-15",
             "--solution", "=SUM(1)", "--recorded-at", "2025-03-20"],
            ["set", "08111000", "10000", "--status", "online", "--online-since", "2025-04-01", "--clear", "maturity", "--recorded-at", "2025-04-02"],
            ["set", "08", "10100", "--status", "online", "--recorded-at", "2025-04-10"],
            ["set", "08115003", "10000", "--status", "not_applicable", "--actor", "Zoë", "--recorded-at", "2025-05-01"],
        ]
        for step in steps {
            let run = try ozgtrack(store.args(step), in: directory)
            #expect(run.status == 0, "\(step): \(run.stderr)")
        }
    }
}
