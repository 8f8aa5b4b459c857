import Foundation
import OZGCore
import Testing

// Faults from outside: processes killed mid-write, several writers at once, a read-only file, a missing
// directory, a full disk. Each test runs the built binary, as a user or a CI job would.

/// A started `ozgtrack` process that the test may kill.
struct Child {
    let process: Process

    /// Starts `ozgtrack` with `arguments` in `directory`, output discarded.
    static func start(_ arguments: [String], in directory: URL) throws -> Child {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = childEnvironment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Child(process: process)
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Seconds since `start`.
func elapsed(since start: Date) -> Double { Date().timeIntervalSince(start) }

/// Runs `ozgtrack` through `/bin/sh -c`, after the shell commands `setup` (e.g. `ulimit -f 64;`) and under
/// `wrapper` (e.g. `setpriv …`), for limits and credentials a `Process` cannot set itself.
func ozgtrackInShell(setup: String = "", wrapper: String = "", _ arguments: [String], in directory: URL) throws -> Run {
    let quoted = ([binary.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", "\(setup) exec \(wrapper) \(quoted.joined(separator: " "))"]
    process.currentDirectoryURL = directory
    process.environment = childEnvironment()
    let out = directory.appendingPathComponent(".stdout-\(UUID().uuidString)")
    let err = directory.appendingPathComponent(".stderr-\(UUID().uuidString)")
    try Data().write(to: out)
    try Data().write(to: err)
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
        stderr: try String(contentsOf: err, encoding: .utf8))
}

/// `PRAGMA integrity_check` of the database at `path`.
func integrity(_ path: URL) throws -> String {
    try SQLiteStore(path: path.path, mode: .read).integrityCheck()
}

/// Fractions of a run's duration at which the crash tests kill it: spread over the whole run, from its first
/// moments (opening, reading) to its last (commit, rename).
let killPoints: [Double] = [0.02, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]

@Suite("Crash safety: SIGKILL at any moment leaves the database and report files whole", .serialized)
struct CrashSafetyTests {
    /// A database with a few records, and a large import (Regierungsbezirk Stuttgart: 179 Gemeinden × 557
    /// services, about 100,000 rows) that overwrites them.
    static func prepare(_ directory: URL) throws -> (database: URL, importFile: URL) {
        let database = directory.appendingPathComponent("base.sqlite")
        #expect(try ozgtrack(["init", "--db", database.path], in: directory).status == 0)
        for service in ["10000", "10001"] {
            let set = try ozgtrack(["set", "08111000", service, "--status", "planned", "--db", database.path], in: directory)
            #expect(set.status == 0, "\(set.stderr)")
        }
        let data = directory.appendingPathComponent("data")
        let generated = try ozgtrack(["bench-data", "--output", data.path, "--within", "081"], in: directory)
        #expect(generated.status == 0, "\(generated.stderr)")
        return (database, data.appendingPathComponent("national.csv"))
    }

    /// Copies the database file (and its WAL, if a process left one) to a fresh name.
    static func copy(_ database: URL, to name: String, in directory: URL) throws -> URL {
        let target = directory.appendingPathComponent(name)
        for suffix in ["", "-wal", "-shm"] {
            let destination = URL(fileURLWithPath: target.path + suffix)
            try? FileManager.default.removeItem(at: destination)
            let source = URL(fileURLWithPath: database.path + suffix)
            if FileManager.default.fileExists(atPath: source.path) { try FileManager.default.copyItem(at: source, to: destination) }
        }
        return target
    }

    @Test("an import killed at 12 points of its run leaves an intact database holding the state before or after it")
    func killedImport() throws {
        try withTemporaryDirectory { directory in
            let (base, file) = try Self.prepare(directory)
            let before = try ozgtrack(["dump", "--db", base.path], in: directory).stdout
            // The complete import, timed, gives the state after and the span to kill in.
            let complete = try Self.copy(base, to: "complete.sqlite", in: directory)
            let started = Date()
            let imported = try ozgtrack(["import", file.path, "--db", complete.path], in: directory)
            let duration = elapsed(since: started)
            #expect(imported.status == 0, "\(imported.stderr)")
            let after = try ozgtrack(["dump", "--db", complete.path], in: directory).stdout
            #expect(before != after)

            var outcomes: [String] = []
            for (index, point) in killPoints.enumerated() {
                let trial = try Self.copy(base, to: "trial-\(index).sqlite", in: directory)
                let child = try Child.start(["import", file.path, "--db", trial.path], in: directory)
                Thread.sleep(forTimeInterval: duration * point)
                child.kill()
                let dump = try ozgtrack(["dump", "--db", trial.path], in: directory)
                #expect(dump.status == 0, "kill at \(point): \(dump.stderr)")
                #expect(try integrity(trial) == "ok", "kill at \(point)")
                let state = dump.stdout == before ? "before" : dump.stdout == after ? "after" : "PART"
                #expect(state != "PART", "kill at \(point) of \(duration) s left a partial import")
                outcomes.append(state)
                // A killed import never blocks the next writer.
                let next = try ozgtrack(["set", "08111000", "10002", "--status", "online", "--db", trial.path], in: directory)
                #expect(next.status == 0, "after kill at \(point): \(next.stderr)")
            }
            // The kills must have hit the import while it ran, not only before or after it.
            #expect(outcomes.contains("before"), "\(outcomes)")
        }
    }

    @Test("a report killed at 12 points of its run leaves the target file as it was or complete, never partial")
    func killedReport() throws {
        try withTemporaryDirectory { directory in
            let (base, file) = try Self.prepare(directory)
            #expect(try ozgtrack(["import", file.path, "--db", base.path], in: directory).status == 0)
            let target = directory.appendingPathComponent("report.csv")
            let arguments = ["report", "--scope", "081", "--format", "csv", "--output", target.path, "--db", base.path]
            let started = Date()
            let complete = try ozgtrack(arguments, in: directory)
            let duration = elapsed(since: started)
            #expect(complete.status == 0, "\(complete.stderr)")
            let full = try Data(contentsOf: target)
            let old = Data("an earlier report\n".utf8)
            #expect(full.count > 1_000_000)

            var sawOld = false
            for point in killPoints {
                try old.write(to: target)
                let child = try Child.start(arguments, in: directory)
                Thread.sleep(forTimeInterval: duration * point)
                child.kill()
                let now = try Data(contentsOf: target)
                #expect(now == old || now == full, "kill at \(point): \(now.count) bytes under the target name")
                sawOld = sawOld || now == old
            }
            #expect(sawOld)
        }
    }
}

@Suite("Concurrency: several processes writing one database")
struct ConcurrencyTests {
    @Test("three processes doing 40 sets each while two import 10,000 rows each: every write lands, history complete")
    func setsAndImports() throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            // Two import files for two Gemeinden each, disjoint from the Gemeinden the sets write.
            var files: [URL] = []
            for within in ["08115", "08116"] {
                let data = directory.appendingPathComponent("data-\(within)")
                #expect(try ozgtrack(["bench-data", "--output", data.path, "--within", within], in: directory).status == 0)
                files.append(data.appendingPathComponent("national.csv"))
            }
            let importRows = try files.map { try String(contentsOf: $0, encoding: .utf8).split(separator: "\n").count - 1 }
            let services = try String(contentsOf: packageRoot.appendingPathComponent("catalogue/ozg/leistungen.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst().prefix(40).map { String($0.prefix(5)) }
            let setRegions = ["08111000", "08121000", "08125001"]
            let failures = Failures()
            let group = DispatchGroup()
            for region in setRegions {
                group.enter()
                DispatchQueue.global().async {
                    defer { group.leave() }
                    for service in services {
                        do {
                            let run = try ozgtrack(["set", region, service, "--status", "online", "--actor", region], in: directory)
                            if run.status != 0 || run.stderr.contains("locked") { failures.add("\(region) \(service): \(run.stderr)") }
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
                        let run = try ozgtrack(["import", file.path, "--actor", "import"], in: directory)
                        if run.status != 0 || run.stderr.contains("locked") { failures.add("import \(file.path): \(run.stderr)") }
                    } catch {
                        failures.add("import \(file.path): \(error)")
                    }
                }
            }
            group.wait()
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let dump = try ozgtrack(["dump"], in: directory).stdout
            #expect(dump.split(separator: "\n").count == 1 + setRegions.count * services.count + importRows.reduce(0, +))
            for region in setRegions {
                let history = try ozgtrack(["history", region, "--format", "json"], in: directory)
                #expect((try json(history.stdout) as? [Any])?.count == services.count)
            }
            #expect(try integrity(directory.appendingPathComponent("ozgtrack.sqlite")) == "ok")
        }
    }
}

@Suite("Environment faults: a clear message, exit 2, nothing damaged")
struct EnvironmentFaultTests {
    /// A database with one record, and its dump.
    static func prepare(_ directory: URL) throws -> (database: URL, dump: String) {
        let database = directory.appendingPathComponent("ozgtrack.sqlite")
        #expect(try ozgtrack(["init"], in: directory).status == 0)
        #expect(try ozgtrack(["set", "08111000", "10000", "--status", "planned"], in: directory).status == 0)
        return (database, try ozgtrack(["dump"], in: directory).stdout)
    }

    /// The shell prefix that runs the command as an unprivileged user when the tests run as root (root writes
    /// read-only files regardless of their mode).
    static var unprivileged: String { geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups" : "" }

    /// Makes `directory` usable by the unprivileged user (a temporary directory is private to root).
    static func share(_ directory: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
    }

    @Test("a write to a read-only database file is refused with a message naming the file")
    func readOnlyFile() throws {
        try withTemporaryDirectory { directory in
            let (database, dump) = try Self.prepare(directory)
            try Self.share(directory)
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: database.path)
            let run = try ozgtrackInShell(wrapper: Self.unprivileged, ["set", "08111000", "10001", "--status", "online"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("ozgtrack.sqlite") && run.stderr.contains("read-only"), "\(run.stderr)")
            // Reading still works.
            let read = try ozgtrackInShell(wrapper: Self.unprivileged, ["dump"], in: directory)
            #expect(read.status == 0, "\(read.stderr)")
            #expect(read.stdout == dump)
            #expect(try integrity(database) == "ok")
        }
    }

    @Test("an import into a database in a read-only directory is refused; the database is unchanged")
    func readOnlyDirectory() throws {
        try withTemporaryDirectory { directory in
            let (database, dump) = try Self.prepare(directory)
            let input = directory.appendingPathComponent("in.csv")
            try "region,ozg_id,status\n08111000,10001,online\n".write(to: input, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path) }
            let run = try ozgtrackInShell(wrapper: Self.unprivileged, ["import", input.path, "--db", database.path], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("ozgtrack.sqlite"), "\(run.stderr)")
            #expect(try ozgtrack(["dump"], in: directory).stdout == dump)
        }
    }

    @Test("a database or report in a missing directory: the message names the directory", arguments: [
        ["init", "--db", "missing/dir/ozgtrack.sqlite"],
        ["set", "08111000", "10000", "--status", "online", "--db", "missing/ozgtrack.sqlite"],
        ["report", "--scope", "08111000", "--output", "missing/dir/report.csv"],
        ["dump", "--output", "missing/dump.csv"],
    ])
    func missingDirectory(arguments: [String]) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.prepare(directory)
            let run = try ozgtrack(arguments, in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("missing"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("missing").path))
        }
    }

    @Test("an import that fills the disk fails with a message and leaves the database intact and unchanged")
    func fullDiskImport() throws {
        try withTemporaryDirectory { directory in
            let (database, dump) = try Self.prepare(directory)
            let data = directory.appendingPathComponent("data")
            #expect(try ozgtrack(["bench-data", "--output", data.path, "--within", "08115"], in: directory).status == 0)
            // A file-size limit (ulimit -f, in 512-byte blocks) makes every write past it fail as on a full disk;
            // the shell ignores SIGXFSZ so that the write fails instead of killing the process.
            let size = try FileManager.default.attributesOfItem(atPath: database.path)[.size] as? Int ?? 0
            let blocks = size / 512 + 64
            let run = try ozgtrackInShell(
                setup: "trap '' XFSZ; ulimit -f \(blocks);", ["import", data.appendingPathComponent("national.csv").path], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("ozgtrack.sqlite") && run.stderr.contains("nothing was written"), "\(run.stderr)")
            #expect(try integrity(database) == "ok")
            #expect(try ozgtrack(["dump"], in: directory).stdout == dump)
        }
    }

    @Test("a report that fills the disk fails with a message; no file is left under the target name",
          arguments: ["csv", "markdown", "xml", "json", "jsonl"])
    func fullDiskReport(format: String) throws {
        try withTemporaryDirectory { directory in
            _ = try Self.prepare(directory)
            // 1 MB: enough for reading the database, not for the report of Baden-Württemberg's 1,101 Gemeinden.
            let run = try ozgtrackInShell(
                setup: "trap '' XFSZ; ulimit -f 2048;",
                ["report", "--scope", "08", "--format", format, "--output", "report.\(format)"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("File too large"), "\(run.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains("report") }
            #expect(left.isEmpty, "\(left)")
        }
    }
}
