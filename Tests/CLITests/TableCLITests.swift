import Foundation
import Testing

/// Where each column of a table for people starts, in characters, taken from its rule line (`───  ──`).
private func columnStarts(_ rule: Substring) -> [Int] {
    var starts: [Int] = []
    var previous: Character = " "
    for (offset, character) in rule.enumerated() {
        if character == "─" && previous == " " { starts.append(offset) }
        previous = character
    }
    return starts
}

/// Whether every line of a table starts each column (after the first) right after two spaces, in characters.
private func isAligned(_ lines: [Substring], starts: [Int]) -> Bool {
    lines.allSatisfy { line in
        let characters = Array(line)
        return starts.dropFirst().allSatisfy { start in
            start <= characters.count && characters[start - 2] == " " && characters[start - 1] == " "
        }
    }
}

@Suite("Tables for people keep their columns whatever the text holds")
struct TableCLITests {
    @Test("the status table of a Gemeinde: every catalogue name (umlauts, dashes, cut at 50 characters) in its column")
    func statusColumns() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try ozgtrack(["init"], in: directory).status == 0)
        #expect(try ozgtrack(["set", "08111000", "10000", "--status", "online"], in: directory).status == 0)
        let run = try ozgtrack(["status", "08111000"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let ruleIndex = try #require(lines.firstIndex { $0.hasPrefix("──") })
        let starts = columnStarts(lines[ruleIndex])
        #expect(starts.count == 8)
        let rows = Array(lines[(ruleIndex - 1)...].prefix { !$0.isEmpty })
        #expect(rows.count == 2 + 557)
        // The status column (the third) is never empty ("–" for untracked), so each row reaches it.
        for row in rows.dropFirst(2) {
            let characters = Array(row)
            #expect(characters.count > starts[2] && characters[starts[2] - 1] == " " && characters[starts[2]] != " ", "\(row)")
            #expect(characters[starts[1] - 2] == " " && characters[starts[1] - 1] == " ", "\(row)")
        }
        #expect(rows.contains { $0.contains("…") }, "names longer than the column are cut with an ellipsis")
        #expect(rows.contains { $0.contains("ä") || $0.contains("ö") || $0.contains("ü") || $0.contains("ß") })
    }

    @Test(
        "the history table keeps the column after a stored actor name in place",
        arguments: [
            "Müller – Straßenverkehrsamt", "e\u{301}te\u{301} (combining accents)", "👩‍💻 Entwicklerin", "„Zitat“ ‚halb‘ …",
            "ÄÖÜäöüß" + String(repeating: "x", count: 60), "tab\there",
        ])
    func historyColumns(actor: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try ozgtrack(["init"], in: directory).status == 0)
        #expect(try ozgtrack(["set", "08111000", "10000", "--status", "online", "--actor", "plain"], in: directory).status == 0)
        #expect(try ozgtrack(["set", "08111000", "10000", "--status", "planned", "--actor", actor], in: directory).status == 0)
        let run = try ozgtrack(["history", "08111000"], in: directory)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        let starts = columnStarts(lines[1])
        #expect(starts.count == 5)
        #expect(isAligned([lines[0], lines[2], lines[3]], starts: starts), "\(run.stdout)")
        // The column after the actor ("quelle") starts at the same character in both rows.
        #expect(Array(lines[2])[starts[2]...].starts(with: "cli") && Array(lines[3])[starts[2]...].starts(with: "cli"), "\(run.stdout)")
    }
}
