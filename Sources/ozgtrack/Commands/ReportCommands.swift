import ArgumentParser
import Exporters
import Foundation
import OZGCore

/// Finds an exporter: the built-ins, registered ones, then plugins on PATH.
func exporter(named name: String) throws -> any ReportExporter {
    if let known = ExporterRegistry.shared.exporter(named: name) { return known }
    if let plugin = ProcessPluginExporter.discover().first(where: { $0.identifier == name }) { return plugin }
    throw ExporterError.unknownFormat(
        name, known: ExporterRegistry.shared.all.map(\.identifier) + ProcessPluginExporter.discover().map(\.identifier))
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "A report for a scope: per region and service the status, aggregates per Themenfeld and coverage.",
        discussion: """
            Formats: xml (validated against ozgtrack's schema; 'ozgtrack schema' prints it), csv, markdown, json, \
            jsonl, xlsx (an Excel workbook; binary, so not written to a terminal: use --output), and any plugin \
            'ozgtrack-exporter-NAME' on PATH ('ozgtrack exporters' lists them).

            Rows: every Gemeinde in scope (or the region itself when it is one) × every service, untracked ones \
            included, plus the records of Kreise, Verbände and Länder in scope. "Own" figures count a unit's own \
            records; "including higher level" also counts a service a unit above offers online. --status selects \
            rows; aggregates always cover the whole scope.

            --output writes the file atomically: complete, or not at all. SOURCE_DATE_EPOCH fixes the creation time \
            for reproducible output.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Option(help: "The region to report on, with everything within it (default: the whole country).") var scope: String?
    @OptionGroup var asOf: AsOfOption
    @OptionGroup var services: ServiceFilterOptions
    @Option(
        name: .customLong("status"),
        help: "List only rows with this status (repeatable): \(RowStatus.allCases.map(\.name).joined(separator: ", ")).")
    var statuses: [String] = []
    @Option(help: "The format: xml, csv, markdown, json, jsonl, xlsx or a plugin's name.") var format: String = "markdown"
    @Option(help: "Write to this file (atomically) instead of standard output.") var output: String?
    @Option(help: "CSV: the delimiter, ',' or ';'.") var delimiter: String = ","
    @Flag(help: "CSV: start with a UTF-8 byte-order mark (for Excel).") var bom = false
    @Flag(
        name: .customLong("no-formula-protection"),
        help: "CSV: leave cells starting with = + - @ as they are (by default they get a leading ').")
    var noFormulaProtection = false
    @Flag(
        name: .customLong("without-provenance"),
        help: "Leave out who changed records when and from where (for reports published outside).")
    var withoutProvenance = false

    func validate() throws {
        guard let character = delimiter.first, delimiter.count == 1, [",", ";"].contains(character) else {
            throw ValidationError("--delimiter takes ',' or ';', not \(delimiter.quotedForMessage)")
        }
    }

    func run() throws {
        let data = try catalogue.load()
        var options = ExportOptions()
        options.csvDelimiter = delimiter.first ?? ","
        options.byteOrderMark = bom
        options.neutraliseFormulas = !noFormulaProtection
        let chosen = try exporter(named: format).configured(options)
        if chosen.isBinary && output == nil && isatty(1) == 1 { throw BinaryOnTerminal(format: chosen.identifier) }
        var query = ReportQuery()
        query.scope = try scope.map { text in try parseArgument("--scope", text) { try RegionKey($0) } }
        query.asOf = try asOf.date
        query.filter = try services.filter(data)
        if !statuses.isEmpty {
            query.statuses = Swift.Set(try statuses.map { text in try parseArgument("--status", text) { try RowStatus(parsing: $0) } })
        }
        query.provenance = !withoutProvenance
        let database = try store.openForReading()
        // Formatting and writing out run on separate threads (a national report writes gigabytes).
        func write(to sink: any OutputSink) throws {
            let background = BackgroundSink(sink)
            try Report.with(query, catalogue: data, store: database) { report in try chosen.write(report, to: background) }
            try background.finish()
        }
        if let output {
            try AtomicFileSink.write(to: output) { sink in try write(to: sink) }
        } else {
            try write(to: StandardOutput.shared)
            try StandardOutput.shared.flush()
        }
    }
}

/// A binary format (XLSX) would go to a terminal.
struct BinaryOnTerminal: DescribedError {
    var format: String
    var description: String {
        "the \(format) format is binary and is not written to a terminal: expected --output FILE (or standard output redirected to a file or a pipe)"
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
        var items = ExporterRegistry.shared.all.map {
            Item(identifier: $0.identifier, kind: "built-in", description: $0.description, fileExtension: $0.fileExtension, mediaType: $0.mediaType)
        }
        let names = Swift.Set(items.map(\.identifier))
        for plugin in ProcessPluginExporter.discover() {
            let shadowed = names.contains(plugin.identifier)
            items.append(
                Item(
                    identifier: plugin.identifier, kind: shadowed ? "plugin (ignored: a built-in has this name)" : "plugin",
                    description: plugin.description, fileExtension: plugin.fileExtension, mediaType: plugin.mediaType,
                    executable: plugin.executable.path))
        }
        try Listing.print(items, format: output.format, headers: ["format", "kind", "description"]) {
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
        let result = try XMLSchemaValidator().validate(file: file)
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
