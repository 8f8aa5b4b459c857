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
        abstract: "Record the status of one service in one region.",
        discussion: """
            Prints 'updated' when something changed (or the record was created) and 'unchanged' when the values \
            were already stored; both exit 0. Only the options given change; --clear removes a field.

            Statuses: not_started (nicht begonnen), planned (geplant), in_progress (in Umsetzung), online, \
            not_applicable (nicht zuständig); the German words are accepted too.
            Reifegrad: model 1 has levels 0-4, model 2 (2025) has 0-7; the model defaults to 1.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Argument(help: "The region: AGS, ARS, or a Land, Bezirk, Kreis or Verband key.") var region: String
    @Argument(help: "The OZG-ID.") var ozgID: String
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

    func run() throws {
        let data = try catalogue.load()
        let validator = RecordValidator(catalogue: data)
        guard let regionKey = try parseArgument("REGION", region, { try validator.region($0, field: "REGION") }),
            let service = try parseArgument("OZG-ID", ozgID, { try validator.service($0, field: "OZG-ID") })
        else { throw InputError(message: "unknown key") }
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
        let key = RecordKey(region: regionKey, service: service)
        let database = try store.openForWriting()
        let outcome: SetOutcome
        do {
            outcome = try Importer.set(
                key, update, into: database, batch: try writer.batch(source: "cli", command: "set"), dryRun: dryRun)
        } catch let error as InputError {
            // Name the option the user gave, not the stored field.
            guard let field = error.field.flatMap(RecordField.init(rawValue:)) else { throw error }
            throw InputError.argument("--" + field.rawValue.replacingOccurrences(of: "_", with: "-"), error)
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
            or JSON pages), xml (ozgtrack's XML report, validated against its schema while read; each entry with \
            an 'umsetzung' replaces the record's values, fields it leaves out are cleared). Default: by the file's \
            extension, else csv.

            Any bad row: nothing is written, every bad row is reported as FILE:LINE: message (the first 50, with \
            the total), exit 2. The same region and OZG-ID twice is an error. Several files are one import.
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
        let sources: [any RecordSource] = files.map { path in
            let chosen = format ?? Self.format(of: path)
            // '-' is standard input: a convention of this command line, not of the libraries.
            let input: InputSource = path == "-" ? .standardInput : .file(path)
            switch chosen {
            case .csv: return CSVRecordSource(input: input, validator: validator, delimiter: csvDelimiter)
            case .json: return JSONRecordSource(input: input, validator: validator)
            case .dashboard: return DashboardSource(input: input, validator: validator, delimiter: csvDelimiter)
            case .xml:
                if path == "-" { return XMLRecordSource(handle: .standardInput, name: "<stdin>", validator: validator) }
                return XMLRecordSource(path: path, validator: validator)
            }
        }
        let source = files.map { $0 == "-" ? "<stdin>" : URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
        let database = try store.openForWriting()
        let showProgress = standardErrorIsTerminal
        let result = try Importer.run(
            sources, into: database, batch: try writer.batch(source: source, command: "import"), validator: validator,
            dryRun: dryRun,
            progress: showProgress ? { rows in FileHandle.standardError.write(Data("\r… \(grouped(rows)) rows".utf8)) } : nil)
        if showProgress && result.rows >= 100_000 { FileHandle.standardError.write(Data("\r".utf8)) }
        for warning in result.warnings { printError("ozgtrack: warning: \(warning)") }
        if result.skipped > result.warnings.count {
            printError("ozgtrack: warning: … \(result.skipped - result.warnings.count) more rows skipped")
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
            try StandardOutput.shared.flush()
        }
    }

    static func format(of path: String) -> ImportFormat {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "json": .json
        case "xml": .xml
        default: .csv
        }
    }
}
