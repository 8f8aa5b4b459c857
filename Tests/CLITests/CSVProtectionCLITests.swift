import Foundation
import OZGCore
import Testing

/// Every CSV the tool writes for people goes through one writer with one rule: a cell that a spreadsheet would
/// run as a formula gets a leading `'`, unless `--no-formula-protection`.
@Suite("CLI: formula protection in every CSV the tool writes")
struct CSVProtectionCLITests {
    /// Hostile values, each planted where one or more commands print it.
    static let note = "=HYPERLINK(\"http://evil\",\"x\")"
    static let solution = "@SUM(1)"
    static let actor = "-2+3"
    static let serviceName = "=cmd|' /C calc'!A0"
    static let leikaName = "+leika"
    static let lifeSituation = "@geburt"
    static let regionName = "=1+1"
    static let edition = "-edition"
    static let hostile = [note, solution, actor, serviceName, leikaName, lifeSituation, regionName, edition]

    struct Command: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        /// The hostile values this command prints (none for listings that cannot hold planted text).
        var shows: [String]
        var exitCode: Int32 = 0
        /// Whether the command takes `--db` (commands on the records) and `--catalogue` (all but `exporters`).
        var store = false
        var catalogue = true
        var testDescription: String { arguments.prefix(2).joined(separator: " ") }
    }

    static let commands: [Command] = [
        Command(arguments: ["catalogue", "stats"], shows: [edition]),
        Command(arguments: ["catalogue", "topics"], shows: []),
        Command(arguments: ["catalogue", "life-situations"], shows: [lifeSituation]),
        Command(arguments: ["catalogue", "services"], shows: [serviceName]),
        Command(arguments: ["catalogue", "show", "10000"], shows: [leikaName]),
        Command(arguments: ["regions", "show", "08111000"], shows: [regionName]),
        Command(arguments: ["regions", "search", "1+1"], shows: [regionName]),
        Command(arguments: ["regions", "list", "--within", "08111"], shows: [regionName]),
        Command(arguments: ["regions", "changes", "--level", "gemeinde"], shows: [regionName]),
        Command(arguments: ["about"], shows: [edition]),
        Command(arguments: ["exporters"], shows: [], catalogue: false),
        Command(arguments: ["status", "08111000"], shows: [note, solution, serviceName], store: true),
        Command(arguments: ["history", "08111000"], shows: [note, solution, actor], store: true),
        Command(arguments: ["diff", "--since", "2000-01-01"], shows: [actor], exitCode: 1, store: true),
        Command(
            arguments: ["check", "--scope", "08111000", "--min-online", "100"], shows: [regionName], exitCode: 1, store: true),
        Command(arguments: ["report", "--scope", "08111000"], shows: [note, solution, actor, serviceName, regionName], store: true),
    ]

    /// The options naming the prepared catalogue folder and database in `directory`.
    struct Setup {
        var catalogue: [String]
        var store: [String]
        var both: [String] { catalogue + store }
        func options(for command: Command) -> [String] { (command.catalogue ? catalogue : []) + (command.store ? store : []) }
    }

    /// A catalogue folder with hostile names, and a database with a hostile record, in `directory`.
    static func prepare(in directory: URL) throws -> Setup {
        let folder = directory.appendingPathComponent("catalogue")
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("catalogue"), to: folder)
        func edit(_ path: String, _ change: (String) -> String) throws {
            let url = folder.appendingPathComponent(path)
            let text = try String(contentsOf: url, encoding: .utf8)
            let changed = change(text)
            #expect(changed != text, "nothing planted in \(path)")
            try changed.write(to: url, atomically: true, encoding: .utf8)
        }
        func quoted(_ value: String) -> String { "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        try edit("ozg/leistungen.csv") { $0.replacingOccurrences(of: "\n10000,Elterngeld,26", with: "\n10000,\(quoted(serviceName)),26") }
        try edit("ozg/leika_leistungen.csv") { $0.replacingOccurrences(of: ",Elterngeld Bewilligung,10000,", with: ",\(leikaName),10000,") }
        try edit("ozg/lebenslagen.csv") { $0.replacingOccurrences(of: "\n26,Geburt,6", with: "\n26,\(lifeSituation),6") }
        try edit("editions.csv") { $0.replacingOccurrences(of: "\"OZG-Umsetzungskatalog mit LeiKa-Zuordnung, Stand der KDN-OZG-Datenbank NRW (Dump vom 20.12.2019)\"", with: edition) }
        // GV100AD is fixed-width: the new name keeps the old one's width.
        let stuttgart = "Stuttgart, Landeshauptstadt"
        try edit("regions/GV100AD_30112025.txt") {
            $0.replacingOccurrences(
                of: "6020251130081110000000" + stuttgart,
                with: "6020251130081110000000" + regionName + String(repeating: " ", count: stuttgart.count - regionName.count))
        }
        let setup = Setup(
            catalogue: ["--catalogue", folder.path], store: ["--db", directory.appendingPathComponent("db.sqlite").path])
        try #require(try ozgtrack(["init"] + setup.store).status == 0)
        let set = try ozgtrack(
            ["set", "08111000", "10000", "--status", "online", "--note", note, "--solution", solution, "--actor=" + actor]
                + setup.both)
        try #require(set.status == 0, "\(set.stderr)")
        return setup
    }

    /// The cells of a CSV text.
    static func cells(_ text: String, delimiter: CSVDelimiter = .comma) throws -> [String] {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { raw in
            let reader = try CSVReader(bytes: UnsafeRawBufferPointer(raw), file: "output", delimiter: delimiter)
            var cells: [String] = []
            while try reader.next() { cells += try reader.strings() }
            return cells
        }
    }

    static func run(_ command: Command, _ setup: Setup, _ extra: [String]) throws -> String {
        let run = try ozgtrack(command.arguments + ["--format", "csv"] + extra + setup.options(for: command))
        #expect(run.status == command.exitCode, "\(run.stderr)")
        return run.stdout
    }

    @Test("no cell starts like a formula; each planted value appears with a leading '", arguments: commands)
    func protected(command: Command) throws {
        try withTemporaryDirectory { directory in
            let common = try Self.prepare(in: directory)
            let cells = try Self.cells(try Self.run(command, common, []))
            #expect(!cells.isEmpty)
            for cell in cells {
                #expect(!(cell.utf8.first.map(CSVFormat.startsLikeFormula) ?? false), "unprotected cell \(cell.quotedForMessage)")
            }
            for value in command.shows {
                #expect(cells.contains("'" + value), "\(value.quotedForMessage) not shown protected")
            }
        }
    }

    @Test("with --no-formula-protection each planted value appears as it is", arguments: commands.filter { !$0.shows.isEmpty })
    func unprotected(command: Command) throws {
        try withTemporaryDirectory { directory in
            let common = try Self.prepare(in: directory)
            let cells = try Self.cells(try Self.run(command, common, ["--no-formula-protection"]))
            for value in command.shows {
                #expect(cells.contains(value), "\(value.quotedForMessage) not shown raw")
                #expect(!cells.contains("'" + value))
            }
        }
    }

    @Test(
        "--delimiter ';' and --bom apply to CSV listings as to the report",
        arguments: commands.filter { ["catalogue", "regions", "status", "report"].contains($0.arguments[0]) && !$0.shows.isEmpty })
    func delimiterAndBOM(command: Command) throws {
        try withTemporaryDirectory { directory in
            let common = try Self.prepare(in: directory)
            let text = try Self.run(command, common, ["--delimiter", ";", "--bom"])
            #expect(text.unicodeScalars.first == "\u{FEFF}")
            let cells = try Self.cells(String(text.unicodeScalars.dropFirst()), delimiter: .semicolon)
            for value in command.shows { #expect(cells.contains("'" + value)) }
        }
    }

    @Test("dump writes values as stored: the canonical import format has no formula protection")
    func dumpIsCanonical() throws {
        try withTemporaryDirectory { directory in
            let common = try Self.prepare(in: directory)
            let dump = try ozgtrack(["dump"] + common.both)
            #expect(dump.status == 0)
            let cells = try Self.cells(dump.stdout)
            #expect(cells.contains(Self.note))
            #expect(cells.contains(Self.solution))
        }
    }

    @Test("a protected report CSV imports back to the same values, and dumps the same as the original")
    func reportRoundTrip() throws {
        try withTemporaryDirectory { directory in
            let common = try Self.prepare(in: directory)
            // Values that need the escape too: a stored value that itself starts with ' and a formula character.
            let notes = [
                ("08115003", "'=already quoted"), ("08116004", "''+twice"), ("08117001", "-5 Tage"), ("08118001", "'plain"),
                ("08115001", "\t@tab"), ("08115002", "\r\n=after a line break"),
            ]
            for (region, note) in notes {
                let set = try ozgtrack(["set", region, "10000", "--status", "planned", "--note=" + note] + common.both)
                try #require(set.status == 0, "\(set.stderr)")
            }
            let report = try ozgtrack(["report", "--format", "csv", "--scope", "081"] + common.both)
            try #require(report.status == 0, "\(report.stderr)")
            // The import format's columns, cut from the report as it is written (cells unchanged).
            let importFile = directory.appendingPathComponent("from-report.csv")
            try Self.importColumns(ofReport: report.stdout).write(to: importFile, atomically: true, encoding: .utf8)
            let second = common.catalogue + ["--db", directory.appendingPathComponent("second.sqlite").path]
            try #require(try ozgtrack(["init", "--db", directory.appendingPathComponent("second.sqlite").path]).status == 0)
            let imported = try ozgtrack(["import", importFile.path] + second)
            try #require(imported.status == 0, "\(imported.stderr)")
            let original = try ozgtrack(["dump"] + common.both).stdout
            let copy = try ozgtrack(["dump"] + second).stdout
            #expect(copy == original)
            #expect(original.contains("''=already quoted"), "the dump escapes a stored value starting with ' and =")
        }
    }

    static func quoted(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The report's rows with a status, reduced to the import columns, cells copied byte for byte.
    static func importColumns(ofReport text: String) throws -> String {
        let wanted = ["region", "ozg_id", "status", "maturity", "maturity_model", "planned", "online_since", "url", "solution", "note"]
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBytes { raw in
            let reader = try CSVReader(bytes: UnsafeRawBufferPointer(raw), file: "report", delimiter: .comma)
            _ = try reader.next()
            let header = try reader.strings()
            let indices = wanted.map { header.firstIndex(of: $0) ?? -1 }
            var out = wanted.joined(separator: ",") + "\n"
            while try reader.next() {
                let fields = try reader.strings()
                guard fields[indices[2]] != "untracked" else { continue }
                // Quoted as RFC 4180 says and otherwise unchanged, so that a protected cell stays protected.
                out += indices.map { quoted(fields[$0]) }.joined(separator: ",") + "\n"
            }
            return out
        }
    }
}
