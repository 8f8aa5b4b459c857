public import OZGCore
import Synchronization

/// Settings some formats take (the others ignore them).
public struct ExportOptions: Sendable, Hashable {
    /// The CSV field separator: `,` (default) or `;` for German spreadsheets.
    public var csvDelimiter: Character = ","
    /// Whether CSV starts with a UTF-8 byte-order mark (so that Excel reads umlauts right).
    public var byteOrderMark = false
    /// Whether CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
    /// carriage return) are prefixed with `'` (OWASP's advice against CSV injection). On by default.
    public var neutraliseFormulas = true

    public init() {}
}

/// Writes a report in one format.
///
/// An exporter reads the report's `Report.header`, its rows (`Report.rows()`, one pass, in key order, not
/// held in memory) and its aggregates (`Report.summary()`), and writes text into a sink. Exporters are small
/// values; the built-ins are listed in ``BuiltinExporters``, third-party ones are added to an
/// ``ExporterRegistry`` or come as executables named `ozgtrack-exporter-NAME` (see ``ProcessPluginExporter``).
/// Run reports through ``ReportRunner``, which finds the exporter, writes the output and checks the report's
/// errors after the rows (an exporter need not call `Report.summary()` for a failed pass to fail the report).
public protocol ReportExporter: Sendable {
    /// The format's name, as callers choose formats by (lower case letters, digits and `-`).
    var identifier: String { get }
    /// One line about the format, for `ozgtrack exporters`.
    var description: String { get }
    /// The usual file extension, without the dot.
    var fileExtension: String { get }
    /// The media type of the output.
    var mediaType: String { get }
    /// This exporter with `options` applied (exporters without options return themselves).
    func configured(_ options: ExportOptions) -> any ReportExporter
    /// Writes `report` into `sink`.
    func write(_ report: Report, to sink: any OutputSink) throws
}

extension ReportExporter {
    public func configured(_ options: ExportOptions) -> any ReportExporter { self }
}

/// The formats built into ozgtrack.
public enum BuiltinExporters {
    /// Every built-in exporter, with default options.
    public static var all: [any ReportExporter] {
        [XMLExporter(), CSVExporter(), MarkdownExporter(), JSONExporter(), JSONLinesExporter(), HTMLExporter()]
    }
}

/// The exporters a program knows: the built-ins, plus any a Swift package registers.
///
/// A package that depends on `Exporters` adds its format with `ExporterRegistry.shared.register(MyExporter())`
/// before it builds a report; `exporter(named:)` then finds it.
public final class ExporterRegistry: Sendable {
    /// The registry of this process.
    public static let shared = ExporterRegistry()

    private let registered = Mutex<[String: any ReportExporter]>([:])

    public init() {}

    /// Adds (or replaces) an exporter under its identifier. Built-in identifiers cannot be taken.
    /// - Throws: ``ExporterError/reservedIdentifier(_:)`` for a built-in name.
    public func register(_ exporter: any ReportExporter) throws {
        if BuiltinExporters.all.contains(where: { $0.identifier == exporter.identifier }) {
            throw ExporterError.reservedIdentifier(exporter.identifier)
        }
        registered.withLock { $0[exporter.identifier] = exporter }
    }

    /// The built-ins followed by the registered exporters, by identifier.
    public var all: [any ReportExporter] {
        BuiltinExporters.all + registered.withLock { $0.values.sorted { $0.identifier < $1.identifier } }
    }

    /// The exporter for `identifier` among the built-ins and the registered ones.
    public func exporter(named identifier: String) -> (any ReportExporter)? {
        all.first { $0.identifier == identifier }
    }
}

/// Exporting failed.
public enum ExporterError: DescribedError {
    /// A registration tried to take a built-in format's name.
    case reservedIdentifier(String)
    /// No exporter has this name.
    case unknownFormat(String, known: [String])
    /// A process plugin failed: its name, how it ended, what it wrote to stderr.
    case pluginFailed(name: String, reason: String, stderr: String)

    public var description: String {
        switch self {
        case .reservedIdentifier(let name): "'\(name)' is a built-in format: expected another name for the exporter"
        case .unknownFormat(let name, let known):
            "'\(name)' is not a known format: expected one of \(known.joined(separator: ", ")) "
                + "(or a plugin program ozgtrack-exporter-\(name) in the plugin directories)"
        case .pluginFailed(let name, let reason, let stderr):
            "the exporter plugin ozgtrack-exporter-\(name) \(reason); nothing was written"
                + (stderr.isEmpty ? "" : ". Its error output:\n" + stderr)
        }
    }
}
