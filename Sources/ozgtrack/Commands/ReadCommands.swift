import ArgumentParser
import Foundation
import OZGCore

/// "status: planned → online; url: – → https://…"
func describeChanges(_ fields: [RecordField], old: RecordValues?, new: RecordValues?) -> String {
    fields.map { field in
        "\(field.rawValue): \(old?.text(field).map { $0.displayed(limit: 40) } ?? "–") → \(new?.text(field).map { $0.displayed(limit: 40) } ?? "–")"
    }.joined(separator: "; ")
}

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Every catalogue service with its status in one region, untracked ones included.",
        discussion: """
            The summary counts the region's own records ("online x of y", y = services minus those recorded as \
            not_applicable) and, separately, services a unit above (Verband, Kreis, Land) records as online \
            ("including higher level"); 'via' names that unit. Reifegrad ≥ 3 counts model-1 levels.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The region: AGS, ARS, or a Land, Bezirk, Kreis or Verband key.") var region: String
    @OptionGroup var services: ServiceFilterOptions
    @OptionGroup var asOf: AsOfOption
    @OptionGroup var output: FormatOptions

    typealias Output = StatusListing
    typealias Row = StatusListing.Row

    func run() throws {
        let data = try catalogue.load()
        let unit = try parseArgument("REGION", region) { try data.regions.resolve($0) }
        let filter = try services.filter(data)
        let date = try asOf.date
        let view = try StatusView.make(store: try store.openForReading(), catalogue: data, region: unit, filter: filter, asOf: date)
        let out = StandardOutput.shared
        switch output.format {
        case .json:
            try Listing.printJSON(StatusListing(view, catalogue: data))
        case .csv:
            try Listing.print(
                StatusListing(view, catalogue: data).services, format: .csv, csv: output.csv,
                headers: [
                    "ozg_id", "leistung", "themenfeld", "status", "maturity", "maturity_model", "planned", "online_since",
                    "url", "solution", "note", "via", "updated_at", "updated_by", "source",
                ]
            ) { row in
                [
                    row.ozgID, row.name, String(row.themenfeld), row.record?.status ?? "", row.record?.maturity.map(String.init) ?? "",
                    row.record?.maturityModel.map(String.init) ?? "", row.record?.planned ?? "", row.record?.onlineSince ?? "",
                    row.record?.url ?? "", row.record?.solution ?? "", row.record?.note ?? "", row.via ?? "",
                    row.record?.updatedAt ?? "", row.record?.updatedBy ?? "", row.record?.source ?? "",
                ]
            }
        case .table:
            var table = TextTable(["ozg_id", "leistung", "status", "reifegrad", "online seit", "geplant", "via", "aktualisiert"])
            for row in view.rows {
                let values = row.record?.values
                table.add([
                    row.service.id.description, row.service.name, values?.status.german ?? "–", values?.maturityText ?? "",
                    values?.onlineSince?.description ?? "", values?.planned?.description ?? "", row.via?.description ?? "",
                    row.record.map { String(Timestamp.string($0.updatedAt).prefix(10)) } ?? "",
                ])
            }
            let counts = view.counts
            var text = "\(unit.name) (\(unit.key), \(unit.kind))"
            if let date { text += " — Stand \(Timestamp.string(date))" }
            text += "\n\n" + table.render(maxWidth: 50)
            text += """

                online: \(counts.online) von \(counts.relevant) (\(counts.shareOnline) %) — eigene Einträge
                online einschließlich höherer Ebene: \(counts.onlineIncludingHigherLevel) von \(counts.relevant) (\(counts.shareOnlineIncludingHigherLevel) %)
                Reifegrad ≥ 3 (Modell 1): \(counts.maturityAtLeast3) von \(counts.relevant) (\(counts.shareMaturityAtLeast3) %)
                erfasst: \(counts.tracked) von \(counts.services) Leistungen; nicht zuständig: \(counts.notApplicable)

                """
            try out.write(text)
            try out.flush()
        }
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Every recorded change of a region's records, oldest first: old and new values, who, when, from where.")
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The region.") var region: String
    @Argument(help: "Only this OZG-ID.") var ozgID: String?
    @Option(help: "Only changes from this day (YYYY-MM-DD, UTC) or ISO 8601 time on.") var since: String?
    @OptionGroup var output: FormatOptions

    typealias Item = HistoryItem

    func run() throws {
        let data = try catalogue.load()
        // A key that the loaded edition no longer has still has its history.
        let key = try parseArgument("REGION", region) { text in
            let key = try RegionKey(text)
            return data.regions.resolve(key)?.key ?? key
        }
        let service = try ozgID.map { text in try parseArgument("OZG-ID", text) { try OZGID($0) } }
        let from = try since.map { text in try parseArgument("--since", text) { try Timestamp.parse($0, endOfDay: false) } }
        let changes = try History.changes(store: try store.openForReading(), region: key, service: service, since: from)
        let items = changes.map(HistoryItem.init)
        switch output.format {
        case .json:
            try Listing.printJSON(items)
        case .csv:
            var rows: [[String]] = []
            for item in items {
                for field in item.changes {
                    rows.append([item.at, item.actor, item.source, item.region, item.ozgID, field.field, field.old ?? "", field.new ?? ""])
                }
            }
            try Listing.print(
                rows.map(CSVRow.init), format: .csv, csv: output.csv,
                headers: ["at", "actor", "source", "region", "ozg_id", "field", "old", "new"]) { $0.cells }
        case .table:
            var table = TextTable(["zeit", "wer", "quelle", "ozg_id", "änderung"])
            for change in changes {
                table.add([
                    Timestamp.string(change.at), change.actor, change.source, change.key.service.description,
                    (change.old == nil ? "neu: " : "") + describeChanges(change.fields, old: change.old, new: change.new),
                ])
            }
            try StandardOutput.shared.write(changes.isEmpty ? "no changes recorded\n" : table.render(maxWidth: 120))
            try StandardOutput.shared.flush()
        }
    }
}

/// A row of plain cells, for listings built from strings.
struct CSVRow: Encodable {
    var cells: [String]
    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for cell in cells { try container.encode(cell) }
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What changed in a period: records whose state at its end differs from their state at its start.",
        discussion: "Exit codes: 0 no changes, 1 changes, 2 error.")
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Option(help: "The start: a day (YYYY-MM-DD, UTC, from its first moment) or an ISO 8601 time.") var since: String
    @Option(help: "The end: a day (to its last moment) or an ISO 8601 time (default: now).") var until: String?
    @OptionGroup var scope: ScopeOption
    @OptionGroup var output: FormatOptions

    typealias Item = DiffItem

    func run() throws {
        let data = try catalogue.load()
        let from = try parseArgument("--since", since) { try Timestamp.parse($0, endOfDay: false) }
        let to = try until.map { text in try parseArgument("--until", text) { try Timestamp.parse($0, endOfDay: true) } }
        let regionScope = try RegionScope(try scope.key, in: data.regions)
        var items: [Item] = []
        try History.differences(store: try store.openForReading(), scope: regionScope, since: from, until: to) { difference in
            items.append(DiffItem(difference))
        }
        switch output.format {
        case .json:
            try Listing.printJSON(items)
        case .csv:
            try Listing.print(
                items, format: .csv, csv: output.csv,
                headers: ["region", "ozg_id", "created", "changes", "last_change_at", "last_actor", "last_source", "fields"]
            ) { item in
                [item.region, item.ozgID, item.created ? "true" : "false", String(item.changes), item.lastChangeAt, item.lastActor,
                 item.lastSource, item.fields.map(\.field).joined(separator: " ")]
            }
        case .table:
            var table = TextTable(["region", "ozg_id", "änderung", "zuletzt", "wer"])
            for item in items {
                table.add([
                    item.region, item.ozgID,
                    (item.created ? "neu: " : "") + item.fields.map { "\($0.field): \($0.old?.displayed(limit: 40) ?? "–") → \($0.new?.displayed(limit: 40) ?? "–")" }.joined(separator: "; "),
                    item.lastChangeAt, item.lastActor,
                ])
            }
            try StandardOutput.shared.write(items.isEmpty ? "no changes\n" : table.render(maxWidth: 100) + "\(items.count) records changed\n")
            try StandardOutput.shared.flush()
        }
        if !items.isEmpty { throw ExitCode(1) }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "A CI gate: thresholds on the share online and the Reifegrad, and records of keys that are gone.",
        discussion: """
            --min-online applies to every Gemeinde in scope (or to the region itself when it is a Gemeinde): \
            online services / relevant services, where relevant excludes those recorded as not_applicable and \
            services offered online by a unit above count (--own-only counts only the Gemeinde's own records). \
            --min-maturity applies to every online record in scope. Records whose region or OZG-ID the loaded \
            editions no longer have always fall short.
            Exit codes: 0 holds, 1 falls short, 2 error.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var scope: ScopeOption
    @Option(name: .customLong("min-online"), help: "The least share online, in percent.") var minOnline: Double?
    @Option(name: .customLong("min-maturity"), help: "The least Reifegrad of online services.") var minMaturity: Int?
    @Option(name: .customLong("maturity-model"), help: "The model --min-maturity refers to (default 1).") var maturityModel: String?
    @OptionGroup var services: ServiceFilterOptions
    @Flag(name: .customLong("own-only"), help: "Count only a Gemeinde's own records, not services of units above.")
    var ownOnly = false
    @Option(help: "List at most this many shortfalls (all are counted).") var limit: Int = 100
    @OptionGroup var output: FormatOptions

    func validate() throws {
        if let minOnline, !(0...100).contains(minOnline) { throw ValidationError("--min-online takes a percentage from 0 to 100") }
        let levels = MaturityModel.allCases.map(\.levels)
        if let minMaturity, let lowest = levels.map(\.lowerBound).min(), let highest = levels.map(\.upperBound).max(),
            !(lowest...highest).contains(minMaturity)
        {
            throw ValidationError("--min-maturity takes a level from \(lowest) to \(highest)")
        }
        if limit < 0 { throw ValidationError("--limit takes a number of 0 or more") }
    }

    func run() throws {
        let data = try catalogue.load()
        var options = Check.Options()
        options.scope = try scope.key
        options.minOnline = minOnline
        options.minMaturity = minMaturity
        if let maturityModel { options.maturityModel = try parseArgument("--maturity-model", maturityModel) { try MaturityModel(parsing: $0) } }
        if let level = minMaturity, !options.maturityModel.levels.contains(level) {
            throw InputError(field: "--min-maturity", message: "'\(level)' is out of range for model \(options.maturityModel.rawValue): expected \(options.maturityModel.levels)")
        }
        options.filter = try services.filter(data)
        options.includeHigherLevel = !ownOnly
        options.limit = limit
        let result = try Check.run(store: try store.openForReading(), catalogue: data, options: options)
        switch output.format {
        case .json:
            try Listing.printJSON(result)
        case .csv:
            try Listing.print(
                result.shortfalls, format: .csv, csv: output.csv, headers: ["kind", "region", "region_name", "ozg_id", "value", "required", "message"]
            ) { [$0.kind, $0.region, $0.regionName ?? "", $0.ozgID ?? "", $0.value.map { String($0) } ?? "", $0.required.map { String($0) } ?? "", $0.message] }
        case .table:
            var text = ""
            if !result.shortfalls.isEmpty {
                var table = TextTable(["region", "name", "ozg_id", "fällt zurück"])
                for shortfall in result.shortfalls {
                    table.add([shortfall.region, shortfall.regionName ?? "", shortfall.ozgID ?? "", shortfall.message])
                }
                text += table.render(maxWidth: 110)
                if result.totalShortfalls > result.shortfalls.count {
                    text += "… and \(result.totalShortfalls - result.shortfalls.count) more\n"
                }
                text += "\n"
            }
            let counts = result.counts
            text += "\(result.scope): \(result.units) Gemeinden geprüft; online \(counts.shareOnline) % eigene, "
                + "\(counts.shareOnlineIncludingHigherLevel) % einschließlich höherer Ebene; Reifegrad ≥ 3: \(counts.shareMaturityAtLeast3) %\n"
            text += result.holds ? "check holds\n" : "check falls short: \(result.totalShortfalls) finding\(result.totalShortfalls == 1 ? "" : "s")\n"
            try StandardOutput.shared.write(text)
            try StandardOutput.shared.flush()
        }
        if !result.holds { throw ExitCode(1) }
    }
}

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "The current state as canonical, sorted CSV in the import format.",
        discussion: """
            The dump is the canonical import format: values as stored, with no formula protection (the CSV \
            listings and reports are for people and protect cells a spreadsheet would run; the dump is for \
            'ozgtrack import'). Importing a dump into an empty database and dumping again reproduces it byte for \
            byte, so a dump can be kept in git, reviewed as a diff and loaded by CI. The one change to a stored \
            value: one that starts with ' followed by =, +, -, @, tab or CR gets one more ', which the import \
            takes off again.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var scope: ScopeOption
    @OptionGroup var asOf: AsOfOption
    @Option(help: "Write to this file (atomically) instead of standard output.") var output: String?

    func run() throws {
        let data = try catalogue.load()
        let regionScope = try RegionScope(try scope.key, in: data.regions)
        let database = try store.openForReading()
        let date = try asOf.date
        if let output {
            _ = try AtomicFileSink.write(to: output) { sink in try Dump.write(store: database, scope: regionScope, asOf: date, to: sink) }
        } else {
            try Dump.write(store: database, scope: regionScope, asOf: date, to: StandardOutput.shared)
            try StandardOutput.shared.flush()
        }
    }
}
