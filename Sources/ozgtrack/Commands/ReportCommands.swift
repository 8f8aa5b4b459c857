import ArgumentParser
import Exporters
import Foundation
import OZGCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A report for a scope: per region and service the status, aggregates per Themenfeld and coverage.",
        discussion: """
            Formats: xml (validated against ozgtrack's schema; 'ozgtrack schema' prints it), csv, markdown, json, \
            jsonl, and any plugin 'ozgtrack-exporter-NAME' on PATH ('ozgtrack exporters' lists them).

            Rows: every Gemeinde in scope (or the region itself when it is one) × every service, untracked ones \
            included, plus the records of Kreise, Verbände and Länder in scope. "Own" figures count a unit's own \
            records; "including higher level" also counts a service a unit above offers online. --status selects \
            rows; aggregates always cover the whole scope.

            --output writes the file atomically: complete, or not at all. SOURCE_DATE_EPOCH fixes the creation time \
            for reproducible output.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @OptionGroup var scope: ScopeOption
    @OptionGroup var asOf: AsOfOption
    @OptionGroup var services: ServiceFilterOptions
    @Option(
        name: .customLong("status"),
        help: "List only rows with this status (repeatable): \(RowStatus.allCases.map(\.name).joined(separator: ", ")).")
    var statuses: [String] = []
    @Option(help: "The format: xml, csv, markdown, json, jsonl or a plugin's name.") var format: String = "markdown"
    @Option(help: "Write to this file (atomically) instead of standard output.") var output: String?
    @OptionGroup var csv: CSVOutputOptions
    @Flag(
        name: .customLong("without-provenance"),
        help: "Leave out who changed records when and from where (for reports published outside).")
    var withoutProvenance = false

    func run() throws {
        let data = try catalogue.load()
        var options = ExportOptions()
        options.csvDelimiter = csv.delimiter.first ?? ","
        options.byteOrderMark = csv.bom
        options.neutraliseFormulas = !csv.noFormulaProtection
        let runner = Environment.reportRunner
        let chosen: any ReportExporter
        do {
            chosen = try runner.exporter(named: format, options: options)
        } catch {
            throw HintedError(error, hint: "plugins are looked for on PATH; 'ozgtrack exporters' lists the formats")
        }
        var query = ReportQuery()
        query.scope = try scope.key
        query.asOf = try asOf.date
        query.filter = try services.filter(data)
        if !statuses.isEmpty {
            query.statuses = Swift.Set(try statuses.map { text in try parseArgument("--status", text) { try RowStatus(parsing: $0) } })
        }
        query.provenance = !withoutProvenance
        query.createdAt = try Environment.sourceDate()
        let database = try store.openForReading()
        if let output {
            try runner.run(query, catalogue: data, store: database, exporter: chosen, to: .file(path: output))
        } else {
            try runner.run(query, catalogue: data, store: database, exporter: chosen, to: .sink(StandardOutput.shared))
            try StandardOutput.shared.flush()
        }
    }
}

struct ExportersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporters",
        abstract: "The report formats: built-in ones and plugins found on PATH (executables ozgtrack-exporter-NAME).")
    @OptionGroup var output: FormatOptions

    struct Item: Encodable {
        var identifier: String
        var kind: String
        var description: String
        var fileExtension: String
        var mediaType: String
        var executable: String?
    }

    func run() throws {
        let items = Environment.reportRunner.available().map { available in
            let exporter = available.exporter
            let kind =
                switch available.kind {
                case .registered: "built-in"
                case .plugin: "plugin"
                case .shadowedPlugin: "plugin (ignored: a built-in has this name)"
                }
            return Item(
                identifier: exporter.identifier, kind: kind, description: exporter.description,
                fileExtension: exporter.fileExtension, mediaType: exporter.mediaType, executable: available.executable?.path)
        }
        try Listing.print(items, output: output, headers: ["format", "kind", "description"]) {
            [$0.identifier, $0.kind, $0.description]
        }
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check an XML file against ozgtrack's report schema; print every error with its line.",
        discussion: """
            The file is read without network access, DTDs or entities (a DOCTYPE is refused).
            Exit codes: 0 valid, 1 invalid, 2 the file cannot be read.
            """)
    @Argument(help: "The XML file ('-' for standard input).") var file: String
    @Option(help: "Output: text or json.") var format: ResultFormat = .text

    struct Outcome: Encodable {
        struct Issue: Encodable {
            var line: Int?
            var column: Int?
            var field: String?
            var message: String
        }
        var file: String
        var valid: Bool
        var errors: Int
        var issues: [Issue]
    }

    func run() throws {
        let validator = XMLSchemaValidator()
        let result = try file == "-" ? validator.validate(handle: .standardInput, name: "<stdin>") : validator.validate(file: file)
        switch format {
        case .json:
            try Listing.printJSON(
                Outcome(
                    file: result.file, valid: result.isValid, errors: result.total,
                    issues: result.issues.map { .init(line: $0.line, column: $0.column, field: $0.field, message: $0.message) }))
        case .text:
            var text = result.issues.map(\.description).joined(separator: "\n")
            if !text.isEmpty { text += "\n" }
            if result.total > result.issues.count { text += "… and \(result.total - result.issues.count) more errors\n" }
            text += result.isValid
                ? "\(result.file) is valid (schema \(XMLReportSchema.namespace))\n"
                : "\(result.file) is not valid: \(result.total) error\(result.total == 1 ? "" : "s")\n"
            try StandardOutput.shared.write(text)
            try StandardOutput.shared.flush()
        }
        if !result.isValid { throw ExitCode(1) }
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the XML schema (XSD) of ozgtrack's XML report.")

    func run() throws {
        try StandardOutput.shared.write(XMLReportSchema.text.hasSuffix("\n") ? XMLReportSchema.text : XMLReportSchema.text + "\n")
        try StandardOutput.shared.flush()
    }
}
