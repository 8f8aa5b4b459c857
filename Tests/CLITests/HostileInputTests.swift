import Foundation
import Testing

/// One bad input of the corpus in Tests/Fixtures/hostile (listed in cases.tsv) and the error it must give.
struct HostileCase: Sendable, CustomTestStringConvertible {
    var file: String
    var format: String
    /// The line the error must name (0: the file as a whole, no line).
    var line: Int
    /// The field the error must name (empty: none).
    var field: String
    var message: String

    var testDescription: String { "\(file) → \(message)" }

    static let all: [HostileCase] = {
        let url = packageRoot.appendingPathComponent("Tests/Fixtures/hostile/cases.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 5, let number = Int(parts[2]) else { return nil }
            return HostileCase(file: parts[0], format: parts[1], line: number, field: parts[3], message: parts[4])
        }
    }()
}

@Suite("Hostile input: every bad file is refused precisely, with exit 2, and the database is unchanged")
struct HostileInputTests {
    @Test("the corpus has a case for every kind of bad input the readers meet")
    func corpus() {
        #expect(HostileCase.all.count >= 40)
    }

    @Test("import refuses it", arguments: HostileCase.all)
    func refused(hostile: HostileCase) throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            _ = try ozgtrack(["set", "08111000", "10000", "--status", "online", "--maturity", "3", "--note", "vorher"], in: directory)
            let before = try ozgtrack(["dump"], in: directory).stdout
            let path: String
            if hostile.file.hasPrefix("generate:") {
                // A 10 MB note: generated, not committed.
                let url = directory.appendingPathComponent(String(hostile.file.dropFirst("generate:".count)))
                let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"
                try Data((header + "08111000,10001,online,,,,,,," + String(repeating: "x", count: 10 << 20) + "\n").utf8).write(to: url)
                path = url.path
            } else {
                path = packageRoot.appendingPathComponent("Tests/Fixtures/hostile/\(hostile.file)").path
            }
            let run = try ozgtrack(["import", path, "--format", hostile.format], in: directory)
            #expect(run.status == 2)
            #expect(run.stdout.isEmpty)
            var place = hostile.line > 0 ? "\(path):\(hostile.line): " : "\(path)"
            if !hostile.field.isEmpty { place += "\(hostile.field): " }
            #expect(run.stderr.contains(place), "\(run.stderr)")
            #expect(run.stderr.contains(hostile.message), "\(run.stderr)")
            #expect(try ozgtrack(["dump"], in: directory).stdout == before)
        }
    }

    @Test(
        "bad command-line values are refused with the option named and exit 2",
        arguments: [
            (["set", "0811100", "10000", "--status", "online"], "REGION: '0811100' is not a region key"),
            (["set", "08111000", "10000", "--status", "fertig"], "--status: 'fertig' is not a status"),
            (["set", "08111000", "10000", "--status", "online", "--maturity", "9"], "--maturity: '9' is out of range"),
            (["set", "08111000", "10000", "--status", "online", "--planned", "2024-02-30"], "--planned: '2024-02-30' is not a date"),
            (["set", "08111000", "10000", "--status", "online", "--url", "ftp://x"], "--url: 'ftp://x' is not a web address"),
            (["set", "08111000", "10000", "--clear", "farbe"], "--clear: 'farbe' is not a field"),
            (["status", "08111000", "--as-of", "2024-02-30"], "--as-of: '2024-02-30' is not a date"),
            (["report", "--scope", "0811100"], "--scope: '0811100' is not a region key"),
            (["check", "--maturity-model", "3"], "--maturity-model: '3' is not a maturity model"),
            (["diff", "--since", "morgen"], "--since: 'morgen' is not a date"),
            (["history", "08111000", "1000"], "OZG-ID: '1000' is not an OZG-ID"),
        ])
    func arguments(arguments: [String], message: String) throws {
        try withTemporaryDirectory { directory in
            _ = try ozgtrack(["init"], in: directory)
            let run = try ozgtrack(arguments, in: directory)
            #expect(run.status == 2)
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
    }
}
