import ArgumentParser
import Exporters
import Foundation
import OZGCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the database, or bring an older one up to date (safe to run again).")
    @OptionGroup var store: StoreOptions
    @Option(help: "Output: text or json.") var format: ResultFormat = .text

    struct Outcome: Encodable {
        var path: String
        var created: Bool
    }

    func run() throws {
        let path = store.resolvedPath
        if PostgresDatabase.isURL(path) {
            let backend = try PostgresDatabase.open(path, mode: .create)
            let name = backend.configuration.description
            switch format {
            case .json: try Listing.printJSON(Outcome(path: name, created: backend.migrated))
            case .text:
                try StandardOutput.shared.write(backend.migrated ? "created \(name)\n" : "\(name) is ready (already existed)\n")
                try StandardOutput.shared.flush()
            }
            return
        }
        let existed = FileManager.default.fileExists(atPath: path)
        _ = try SQLiteStore(path: path, mode: .create)
        let outcome = Outcome(path: path, created: !existed)
        switch format {
        case .json: try Listing.printJSON(outcome)
        case .text:
            try StandardOutput.shared.write(existed ? "\(path) is ready (already existed)\n" : "created \(path)\n")
            try StandardOutput.shared.flush()
        }
    }
}

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Record the status of services in regions: one record, or many in one transaction.",
        discussion: """
            One record: ozgtrack set REGION OZG-ID [options]. Prints 'updated' when something changed (or the \
            record was created) and 'unchanged' when the values were already stored; both exit 0. Only the \
            options given change; --clear removes a field.

            Many records (a roll-out): name the regions with --region KEY (repeatable) and/or --within KEY \
            --level LEVEL (every unit of that level within KEY, e.g. --within 08115 --level gemeinde), and the \
            services with --service OZG-ID (repeatable) and/or --topic NR|NAME (every service of a Themenfeld). \
            Positional keys are then the other kind: with region options they are OZG-IDs, with service options \
            region keys; with both, none. A key's meaning never depends on its digits (5 digits are a Kreis and \
            an OZG-ID alike). Every region gets the same update for every service, written in one transaction \
            with one history batch: all records or none. Prints each record that changes and a count \
            (--format json: the same as an object); --dry-run writes nothing.

            Statuses: not_started (nicht begonnen), planned (geplant), in_progress (in Umsetzung), online, \
            not_applicable (nicht zuständig); the German words are accepted too.
            Reifegrad: model 1 has levels 0-4, model 2 (2025) has 0-7; the model defaults to 1.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Argument(
        help: ArgumentHelp(
            "REGION OZG-ID for one record; with --region/--within: OZG-IDs; with --service/--topic: region keys.",
            valueName: "key"))
    var keys: [String] = []
    @Option(name: .customLong("region"), help: ArgumentHelp("A region to write (repeatable): AGS, ARS, or a Land, Bezirk, Kreis or Verband key.", valueName: "key"))
    var regions: [String] = []
    @Option(help: ArgumentHelp("Write the units of --level within this region.", valueName: "key")) var within: String?
    @Option(help: "With --within: the level of the units to write: \(RegionLevel.allCases.map(\.rawValue).joined(separator: ", ")).")
    var level: RegionLevel?
    @Option(name: .customLong("service"), help: ArgumentHelp("A service to write (repeatable).", valueName: "ozg-id"))
    var services: [String] = []
    @Option(help: "Write every service of this Themenfeld (number or name).") var topic: String?
    @Option(help: "The status.") var status: String?
    @Option(help: "The Reifegrad (maturity level).") var maturity: String?
    @Option(name: .customLong("maturity-model"), help: "The maturity model: 1 (levels 0-4) or 2 (levels 0-7).")
    var maturityModel: String?
    @Option(help: "When going online is planned (YYYY-MM-DD).") var planned: String?
    @Option(name: .customLong("online-since"), help: "Since when it is online (YYYY-MM-DD).") var onlineSince: String?
    @Option(help: "The service's URL (http or https).") var url: String?
    @Option(help: "The solution or provider, e.g. the EfA service used.") var solution: String?
    @Option(help: "A note.") var note: String?
    @Option(
        name: .customLong("clear"),
        help: ArgumentHelp("Remove a field (repeatable): \(RecordField.allCases.dropFirst().map(\.rawValue).joined(separator: ", ")).", valueName: "field"))
    var clear: [String] = []
    @OptionGroup var writer: WriterOptions
    @Flag(name: .customLong("dry-run"), help: "Show what would happen; write nothing.") var dryRun = false
    @Option(help: "Output: text or json.") var format: ResultFormat = .text

    typealias Outcome = SetResultItem

    /// Whether regions are named by options (then positional keys are OZG-IDs).
    var selectsRegions: Bool { !regions.isEmpty || within != nil }
    /// Whether services are named by options (then positional keys are region keys).
    var selectsServices: Bool { !services.isEmpty || topic != nil }
    /// The legacy form: exactly REGION OZG-ID, no selection options.
    var isSingle: Bool { !selectsRegions && !selectsServices }

    func validate() throws {
        if level != nil && within == nil {
            throw ValidationError("--level needs --within: the region whose units of that level to write")
        }
        if within != nil && level == nil {
            throw ValidationError(
                "--within needs --level: which units within it to write (\(RegionLevel.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch (selectsRegions, selectsServices) {
        case (false, false):
            if keys.count != 2 {
                throw ValidationError(
                    "expected REGION and OZG-ID (got \(keys.count) \(keys.count == 1 ? "key" : "keys")); for several records name "
                        + "the regions with --region or --within and --level, the services with --service or --topic")
            }
        case (true, false):
            if keys.isEmpty {
                throw ValidationError("name the services to write: OZG-IDs after the options, --service or --topic")
            }
        case (false, true):
            if keys.isEmpty {
                throw ValidationError("name the regions to write: region keys after the options, --region, or --within with --level")
            }
        case (true, true):
            if !keys.isEmpty {
                throw ValidationError(
                    "positional keys \(keys.joined(separator: " ")) are ambiguous when both regions (--region, --within) and services "
                        + "(--service, --topic) are named by options: use --region or --service for them")
            }
        }
    }

    func run() throws {
        let data = try catalogue.load()
        let validator = RecordValidator(catalogue: data)
        if isSingle {
            try runSingle(data, validator: validator)
        } else {
            try runBulk(data, update: try makeUpdate(validator))
        }
    }

    /// The update the options describe.
    private func makeUpdate(_ validator: RecordValidator) throws -> RecordUpdate {
        var update: RecordUpdate
        do throws(InputError) {
            update = try validator.update([
                .status: status ?? "", .maturity: maturity ?? "", .maturityModel: maturityModel ?? "",
                .planned: planned ?? "", .onlineSince: onlineSince ?? "", .url: url ?? "", .solution: solution ?? "",
                .note: note ?? "",
            ])
        } catch {
            throw InputError.argument("--" + (error.field ?? "").replacingOccurrences(of: "_", with: "-"), error)
        }
        for name in clear {
            guard let field = RecordField(rawValue: name.replacingOccurrences(of: "-", with: "_")) else {
                throw InputError(
                    field: "--clear",
                    message: "\(name.quotedForMessage) is not a field: expected one of \(RecordField.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            update.clear.insert(field)
        }
        return update
    }

    /// `set REGION OZG-ID`: one record, as ever.
    private func runSingle(_ data: Catalogue, validator: RecordValidator) throws {
        guard let regionKey = try parseArgument("REGION", keys[0], { try validator.region($0, field: "REGION") }),
            let service = try parseArgument("OZG-ID", keys[1], { try validator.service($0, field: "OZG-ID") })
        else { throw InputError(message: "unknown key") }
        let update = try makeUpdate(validator)
        let key = RecordKey(region: regionKey, service: service)
        let database = try store.openForWriting()
        let outcome: SetOutcome
        do {
            outcome = try Importer.set(
                key, update, into: database, batch: try writer.batch(source: "cli", command: "set"), dryRun: dryRun)
        } catch let error as InputError {
            throw Self.naming(error)
        }
        let result = outcome.changed ? "updated" : "unchanged"
        switch format {
        case .json:
            try Listing.printJSON(
                Outcome(
                    result: result, created: outcome.created, dryRun: dryRun, region: regionKey.description,
                    ozgID: service.description, record: outcome.record.map { RecordItem($0, catalogue: data) }))
        case .text:
            try StandardOutput.shared.write(dryRun ? "\(result) (dry run: nothing written)\n" : "\(result)\n")
            try StandardOutput.shared.flush()
        }
    }

    /// An error about a record field, naming the option the user gave instead.
    static func naming(_ error: InputError) -> InputError {
        guard let field = error.field.flatMap(RecordField.init(rawValue:)) else { return error }
        return InputError.argument("--" + field.rawValue.replacingOccurrences(of: "_", with: "-"), error)
    }

    /// The JSON of a bulk write.
    struct BulkOutcome: Encodable {
        struct Change: Encodable {
            var result: String
            var region: String
            var regionName: String
            var ozgID: String
            var service: String
            var fields: [String]
            var before: [String: String]?
            var after: [String: String]
        }
        var dryRun: Bool
        var records: Int
        var created: Int
        var updated: Int
        var unchanged: Int
        var changes: [Change]
    }

    /// Several regions and/or services: one transaction, one history batch.
    private func runBulk(_ data: Catalogue, update: RecordUpdate) throws {
        let selection: RecordSelection
        do throws(InputError) {
            selection = try RecordSelection.resolve(
                regions: regions + (selectsRegions ? [] : keys), within: within, level: level,
                services: services + (selectsRegions ? keys : []), topic: topic, catalogue: data)
        } catch {
            // Library fields are the option names without dashes; positional keys are named as such.
            let positional = (error.field == "service" && selectsRegions) || (error.field == "region" && !selectsRegions)
            let named = positional ? (selectsRegions ? "OZG-ID" : "REGION") : "--" + (error.field ?? "")
            throw InputError.argument(named, error)
        }
        let database = try store.openForWriting()
        let outcome: BulkSetOutcome
        do {
            outcome = try Importer.set(
                selection, update, into: database, batch: try writer.batch(source: "cli", command: "set"), dryRun: dryRun)
        } catch let errors as InputErrors {
            throw InputErrors(errors: errors.errors.map(Self.naming), total: errors.total)
        }
        func values(_ record: RecordValues?) -> [String: String]? {
            guard let record else { return nil }
            var fields: [String: String] = [:]
            for field in RecordField.allCases { if let text = record.text(field) { fields[field.rawValue] = text } }
            return fields
        }
        switch format {
        case .json:
            let changes = outcome.changes.map { change in
                BulkOutcome.Change(
                    result: change.created ? "created" : "updated", region: change.key.region.description,
                    regionName: data.regions.region(change.key.region)?.name ?? "", ozgID: change.key.service.description,
                    service: data.services.service(change.key.service)?.name ?? "", fields: change.fields.map(\.rawValue),
                    before: values(change.before), after: values(change.after) ?? [:])
            }
            try Listing.printJSON(
                BulkOutcome(
                    dryRun: dryRun, records: outcome.records, created: outcome.created, updated: outcome.updated,
                    unchanged: outcome.unchanged, changes: changes))
        case .text:
            for change in outcome.changes {
                let region = "\(change.key.region) \((data.regions.region(change.key.region)?.name ?? "").displayed())"
                let service = "\(change.key.service) \((data.services.service(change.key.service)?.name ?? "").displayed())"
                let fields = change.fields.map { field in
                    let after = change.after.text(field).map { $0.quotedForMessage } ?? "(cleared)"
                    guard let before = change.before?.text(field) else { return "\(field.rawValue) \(after)" }
                    return "\(field.rawValue) \(before.quotedForMessage) → \(after)"
                }
                try StandardOutput.shared.write(
                    "\(change.created ? "created" : "updated") \(region), \(service): \(fields.joined(separator: ", "))\n")
            }
            try StandardOutput.shared.write(
                "\(grouped(outcome.records)) records: \(grouped(outcome.created)) created, \(grouped(outcome.updated)) updated, "
                    + "\(grouped(outcome.unchanged)) unchanged\(dryRun ? " (dry run: nothing written)" : "")\n")
            try StandardOutput.shared.flush()
        }
    }
}

/// The input formats of `import`.
enum ImportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, json, dashboard, xml
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update many records from files, in one transaction: all rows or none.",
        discussion: """
            Formats: csv (header region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note; \
            UTF-8 with or without BOM; ',' or ';'; CRLF or LF; empty cells mean "not given"; a url, solution or note \
            cell that ozgtrack's CSV output protected with a leading ' imports without it), json (an array of \
            objects with the same keys), dashboard (the open-data export of the Dashboard Digitale Verwaltung, CSV \
            or JSON pages; repeated rows merge, rows of one region and OZG-ID combine, an empty ozgid is taken \
            from the LeiKa key; several files are one export), xml (ozgtrack's XML report, validated against its schema while read; each entry with \
            an 'umsetzung' replaces the record's values, fields it leaves out are cleared). Default: by the file's \
            extension, else csv.

            Any bad row: nothing is written, every bad row is reported as FILE:LINE: message (the first 50, with \
            the total), exit 2. The same region and OZG-ID twice is an error (except within dashboard exports). \
            Several files are one import.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The files to import ('-' for standard input).") var files: [String]
    @Option(help: "The input format: \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var format: ImportFormat?
    @Option(help: "The CSV delimiter: ',' or ';' (default: detected from the header).") var delimiter: String?
    @Flag(name: .customLong("dry-run"), help: "Validate and count what would be inserted, updated and left unchanged; write nothing.")
    var dryRun = false
    @Flag(name: .customLong("skip-unknown"), help: "Skip rows whose region or OZG-ID the loaded editions do not have (listed as warnings) instead of failing.")
    var skipUnknown = false
    @OptionGroup var writer: WriterOptions
    @Option(help: "Output of the summary: text or json.") var summary: ResultFormat = .text

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file to import") }
        if let delimiter, CSVDelimiter(text: delimiter) == nil {
            throw ValidationError("--delimiter takes ',' or ';', not \(delimiter.quotedForMessage)")
        }
    }

    func run() throws {
        let data = try catalogue.load()
        let validator = RecordValidator(catalogue: data, skipUnknown: skipUnknown)
        let csvDelimiter = delimiter.flatMap(CSVDelimiter.init(text:))
        // Dashboard exports are read by one source, so that rows of one record in different files combine.
        let dashboardFiles = files.filter { (format ?? Self.format(of: $0)) == .dashboard }
        let dashboard = DashboardSource(
            inputs: dashboardFiles.map { $0 == "-" ? .standardInput : .file($0) }, validator: validator, delimiter: csvDelimiter)
        // Several XML reports (the ministry's collection) are read ahead on a second thread, in import order.
        let xmlFiles = files.filter { $0 != "-" && (format ?? Self.format(of: $0)) == .xml }
        let lookAhead = xmlFiles.count > 1 ? XMLLookAhead(paths: xmlFiles) : nil
        let sources: [any RecordSource] = files.compactMap { path in
            let chosen = format ?? Self.format(of: path)
            // '-' is standard input: a convention of this command line, not of the libraries.
            let input: InputSource = path == "-" ? .standardInput : .file(path)
            switch chosen {
            case .csv: return CSVRecordSource(input: input, validator: validator, delimiter: csvDelimiter)
            case .json: return JSONRecordSource(input: input, validator: validator)
            case .dashboard: return path == dashboardFiles.first ? dashboard : nil
            case .xml:
                if path == "-" { return XMLRecordSource(handle: .standardInput, name: "<stdin>", validator: validator) }
                return XMLRecordSource(path: path, validator: validator, lookAhead: lookAhead)
            }
        }
        var source = files.map { $0 == "-" ? "<stdin>" : URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
        // The date of the PVOG data goes with every record the import writes (history and reports show it).
        let sourceDates = dashboardFiles.isEmpty ? [] : dashboard.sourceDates()
        if !sourceDates.isEmpty { source += " (Datenstand PVOG \(sourceDates.joined(separator: ", ")))" }
        let database = try store.openForWriting()
        let showProgress = standardErrorIsTerminal
        let result = try Importer.run(
            sources, into: database, batch: try writer.batch(source: source, command: "import"), validator: validator,
            dryRun: dryRun,
            progress: showProgress ? { rows in FileHandle.standardError.write(Data("\r… \(grouped(rows)) rows".utf8)) } : nil)
        if showProgress && result.rows >= 100_000 { FileHandle.standardError.write(Data("\r".utf8)) }
        for warning in result.warnings { printError("ozgtrack: warning: \(warning)") }
        // Rows of unmapped LeiKa keys are listed in the dashboard summary, not as warnings.
        let warned = result.skipped - (result.dashboard?.skippedRows ?? 0)
        if warned > result.warnings.count {
            printError("ozgtrack: warning: … \(warned - result.warnings.count) more rows skipped")
        }
        switch summary {
        case .json: try Listing.printJSON(result)
        case .text:
            let text =
                dryRun
                ? "dry run: \(grouped(result.rows)) rows; would insert \(grouped(result.inserted)), update \(grouped(result.updated)), "
                    + "leave \(grouped(result.unchanged)) unchanged\(result.skipped > 0 ? ", skip \(grouped(result.skipped))" : ""); nothing written\n"
                : "imported \(grouped(result.rows)) rows: \(grouped(result.inserted)) inserted, \(grouped(result.updated)) updated, "
                    + "\(grouped(result.unchanged)) unchanged\(result.skipped > 0 ? ", \(grouped(result.skipped)) skipped" : "")\n"
            try StandardOutput.shared.write(text)
            if let dashboard = result.dashboard { try StandardOutput.shared.write(Self.describe(dashboard)) }
            try StandardOutput.shared.flush()
        }
    }

    /// How many entries of each list the text summary shows (`--summary json` has them all).
    static let shownEntries = 20

    /// The dashboard part of the text summary.
    static func describe(_ summary: DashboardSummary) -> String {
        var lines: [String] = []
        func more(_ shown: Int, of total: Int) {
            if total > shown { lines.append("  … \(grouped(total - shown)) more (--summary json lists them)") }
        }
        lines.append(
            "dashboard: \(grouped(summary.rowsRead)) rows read, \(grouped(summary.identicalRowsMerged)) identical repeats merged, "
                + "\(grouped(summary.resolvedFromLeiKa)) OZG-IDs taken from the LeiKa key; \(grouped(summary.records)) records "
                + "(\(grouped(summary.combinedRecords)) combined from several rows)")
        if !summary.sourceDates.isEmpty || !summary.exportDates.isEmpty {
            var dates: [String] = []
            if !summary.sourceDates.isEmpty { dates.append("Datenstand PVOG \(summary.sourceDates.joined(separator: ", "))") }
            if !summary.exportDates.isEmpty { dates.append("exported \(summary.exportDates.joined(separator: ", "))") }
            lines.append("dashboard: source date: \(dates.joined(separator: "; "))")
        }
        if summary.choiceCount > 0 {
            lines.append(
                "dashboard: \(grouped(summary.choiceCount)) records had several URLs; chosen: active with a working link, then active, "
                    + "then the smallest LeiKa key, then the smallest URL:")
            for choice in summary.choices.prefix(shownEntries) {
                lines.append(
                    "  \(choice.region) \(choice.ozgID): \(choice.status) \(choice.url ?? "(no URL)") (LeiKa \(choice.leikaKey), "
                        + "\(choice.file):\(choice.line); \(choice.rows) rows, \(choice.urls) URLs)")
            }
            more(min(shownEntries, summary.choices.count), of: summary.choiceCount)
        }
        for (entries, what) in [
            (summary.unknownLeiKa, "the catalogue does not know"), (summary.unassignedLeiKa, "the catalogue maps to no OZG-Leistung"),
        ] where !entries.isEmpty {
            let rows = entries.reduce(0) { $0 + $1.rows }
            lines.append("dashboard: skipped \(grouped(rows)) rows without ozgid of \(grouped(entries.count)) LeiKa keys \(what):")
            for entry in entries {
                lines.append("  \(entry.key.isEmpty ? "(no key)" : entry.key) \(entry.name.displayed()) (\(entry.rows) \(entry.rows == 1 ? "row" : "rows"))")
            }
        }
        if !summary.claims.isEmpty {
            lines.append("dashboard: its claims (art_flaechendeckung) against the imported records (Gemeinden online, own or via a higher level):")
            let header = ["claim", "rows", "areas × services", "flaechendeckend", "mindestens_eine", "keine"]
            var table = [header]
            for claim in summary.claims {
                let counts =
                    claim.evaluated
                    ? [grouped(claim.areas), grouped(claim.computedComplete), grouped(claim.computedPartial), grouped(claim.computedNone)]
                    : ["not compared", "", "", ""]
                table.append([claim.label.displayed(), grouped(claim.rows)] + counts)
            }
            let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
            for row in table {
                let cells = row.enumerated().map { index, cell in
                    let pad = String(repeating: " ", count: widths[index] - cell.count)
                    return index == 0 ? cell + pad : pad + cell
                }
                lines.append("  " + cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
        if summary.contradictionCount > 0 {
            lines.append("dashboard: \(grouped(summary.contradictionCount)) areas claimed flächendeckend are not covered by the imported records:")
            for item in summary.contradictions.prefix(shownEntries) {
                let area = item.area.isEmpty ? item.areaName : "\(item.area) \(item.areaName)"
                lines.append(
                    "  \(item.label): \(area), \(item.ozgID) "
                        + "\(item.service): online in \(grouped(item.online)) of \(grouped(item.gemeinden)) Gemeinden (\(item.computed))")
            }
            more(min(shownEntries, summary.contradictions.count), of: summary.contradictionCount)
        }
        return lines.map { $0 + "\n" }.joined()
    }

    static func format(of path: String) -> ImportFormat {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "json": .json
        case "xml": .xml
        default: .csv
        }
    }
}
