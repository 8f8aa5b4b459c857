import Foundation
import Testing

@Suite("CLI: the XLSX report")
struct XLSXCLITests {
    func database(in directory: URL) throws {
        _ = try ozgtrack(["init"], in: directory)
        _ = try ozgtrack(["set", "08115001", "10089", "--status", "online", "--note", "=1+1"], in: directory)
    }

    /// The bytes of a ZIP archive's first local header (an XLSX file is one).
    static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    @Test("--output writes the workbook atomically and nothing to stdout")
    func outputFile() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let run = try ozgtrack(["report", "--scope", "08115001", "--format", "xlsx", "--output", "r.xlsx"], in: directory)
            #expect(run.status == 0)
            #expect(run.stdout.isEmpty)
            let bytes = try Data(contentsOf: directory.appendingPathComponent("r.xlsx"))
            #expect(Array(bytes.prefix(4)) == Self.zipMagic)
            let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
            #expect(left.isEmpty)
        }
    }

    @Test("piped, the workbook goes to stdout")
    func piped() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let run = try ozgtrack(["report", "--scope", "08115001", "--format", "xlsx"], in: directory)
            #expect(run.status == 0)
            #expect(Array(run.stdout.utf8.prefix(4)) == Self.zipMagic)
            #expect(run.stderr.isEmpty)
        }
    }

    @Test("on a terminal without --output it refuses with a clear message, exit 2, writing nothing")
    func terminal() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            // script(1) gives the command a pseudo-terminal as stdout.
            let command = "'\(binary.path)' report --scope 08115001 --format xlsx"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", command, "/dev/null"]
            process.currentDirectoryURL = directory
            process.environment = childEnvironment()
            let out = Pipe()
            process.standardOutput = out
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 2)
            #expect(output.contains("the xlsx format is binary and is not written to a terminal: expected --output FILE"))
            #expect(!output.contains("PK"))
        }
    }

    @Test("a report that cannot be written leaves no file and exits 2")
    func unwritable() throws {
        try withTemporaryDirectory { directory in
            try database(in: directory)
            let run = try ozgtrack(["report", "--scope", "08115001", "--format", "xlsx", "--output", "missing/r.xlsx"], in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains("missing"))
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("missing/r.xlsx").path))
        }
    }

    @Test("'exporters' lists xlsx as a built-in format")
    func listed() throws {
        let run = try ozgtrack(["exporters", "--format", "json"])
        let items = try json(run.stdout) as? [[String: Any]]
        let xlsx = items?.first { $0["identifier"] as? String == "xlsx" }
        #expect(xlsx?["kind"] as? String == "built-in")
        #expect(xlsx?["fileExtension"] as? String == "xlsx")
    }
}
