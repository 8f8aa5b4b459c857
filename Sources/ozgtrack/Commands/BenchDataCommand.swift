import ArgumentParser
import Foundation
import OZGCore

/// Generates the synthetic national dataset the benchmarks use (hidden: a tool for developers).
struct BenchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-data",
        abstract: "Generate a deterministic, synthetic national dataset in the import CSV format (for benchmarks).",
        discussion: """
            Writes DIR/national.csv: every Gemeinde of the registry × every service, with a mix of statuses, \
            maturity levels, dates, URLs and a few notes; and, with --history, DIR/history/step-NN.csv: changes to \
            part of the records at dates spread over two years, listed in DIR/history/steps.csv (file, date). \
            The same seed gives the same bytes. The data is synthetic: it says nothing about any real place.
            """,
        shouldDisplay: false)
    @OptionGroup var catalogue: CatalogueOptions
    @Option(help: "The directory to write into.") var output: String
    @Option(help: "The seed.") var seed: UInt64 = 2025
    @Option(help: "Also write this many history steps.") var history: Int = 0
    @Option(help: "The share of records each history step changes, in percent.") var changePercent: Double = 5
    @Option(help: "Only Gemeinden within this key (default: all).") var within: String?

    /// A small, fast, seedable generator (SplitMix64), so that the data is the same on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func chance(_ percent: Double) -> Bool { Double(next() % 10_000) < percent * 100 }
    }

    static func date(_ random: inout Random, from year: Int, years: Int) -> String {
        let year = year + random.below(years)
        let month = 1 + random.below(12)
        let day = 1 + random.below(28)
        return String(format: "%04d-%02d-%02d", year, month, day)
    }

    static let notes = [
        "Umsetzung mit dem Kreis abgestimmt", "Start nach Schulung der Sachbearbeitung",
        "Formular \"Antrag online\" in Prüfung", "Pilot; Rückmeldungen werden gesammelt",
        "Verzögert, Fachverfahren wird ersetzt; neuer Termin offen",
    ]

    /// One record's values as CSV cells (after `region,ozg_id`).
    static func values(_ random: inout Random, unit: String, service: OZGID) -> [String] {
        let roll = random.below(100)
        let status: Status =
            roll < 35 ? .online : roll < 50 ? .inProgress : roll < 65 ? .planned : roll < 95 ? .notStarted : .notApplicable
        var cells = [status.rawValue, "", "", "", "", "", "", ""]
        switch status {
        case .online:
            if random.chance(10) {
                cells[1] = String(2 + random.below(5))
                cells[2] = "2"
            } else {
                cells[1] = String(2 + random.below(3))
                cells[2] = "1"
            }
            cells[4] = date(&random, from: 2019, years: 7)
            cells[5] = "https://service.example.de/\(unit)/\(service)"
            if random.chance(25) { cells[6] = "EfA-Dienst \(service)" }
        case .inProgress:
            cells[1] = String(random.below(3))
            cells[2] = "1"
            cells[3] = date(&random, from: 2026, years: 2)
        case .planned:
            cells[3] = date(&random, from: 2026, years: 3)
        default:
            break
        }
        if random.chance(1) { cells[7] = notes[random.below(notes.count)] }
        return cells
    }

    func run() throws {
        let data = try catalogue.load()
        let scope = try within.map { text in try parseArgument("--within", text) { try data.regions.resolve($0) } }
        let gemeinden = data.regions.descendants(of: scope?.key, level: .gemeinde)
        let services = data.services.services
        let directory = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let header = CSVFormat.canonical.line(CSVRecordSource.columns)
        var random = Random(state: seed)
        var rows = 0
        _ = try AtomicFileSink.write(to: directory.appendingPathComponent("national.csv").path) { sink in
            try sink.write(header)
            var line = ""
            for gemeinde in gemeinden {
                let unit = gemeinde.key.description
                for service in services {
                    line.removeAll(keepingCapacity: true)
                    line += unit + "," + service.id.description
                    for cell in Self.values(&random, unit: unit, service: service.id) {
                        line += "," + CSVFormat.canonical.field(cell)
                    }
                    line += "\n"
                    try sink.write(line)
                    rows += 1
                }
            }
        }
        printError("national.csv: \(grouped(rows)) rows (\(gemeinden.count) Gemeinden × \(services.count) services)")
        guard history > 0 else { return }
        let folder = directory.appendingPathComponent("history")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var steps = "file,date\n"
        for step in 1...history {
            // Steps spread over two years, starting 2024-01-01.
            let day = ISODate(Date(timeIntervalSince1970: 1_704_067_200 + Double(step) * (730.0 / Double(history)) * 86_400))
            let name = String(format: "step-%02d.csv", step)
            var changed = 0
            _ = try AtomicFileSink.write(to: folder.appendingPathComponent(name).path) { sink in
                try sink.write(header)
                for gemeinde in gemeinden {
                    let unit = gemeinde.key.description
                    for service in services where random.chance(changePercent) {
                        let cells = Self.values(&random, unit: unit, service: service.id)
                        try sink.write(unit + "," + service.id.description + "," + cells.map { CSVFormat.canonical.field($0) }.joined(separator: ",") + "\n")
                        changed += 1
                    }
                }
            }
            steps += "\(name),\(day)\n"
            printError("history/\(name): \(grouped(changed)) changes, recorded at \(day)")
        }
        try steps.write(to: folder.appendingPathComponent("steps.csv"), atomically: true, encoding: .utf8)
    }
}
