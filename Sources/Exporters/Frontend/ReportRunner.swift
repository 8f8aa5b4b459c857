public import Foundation
public import OZGCore

/// Where a report goes.
public enum ReportDestination {
    /// Into a sink, as the report is written (standard output, a response body). Output may have reached the
    /// sink when the report fails; the caller flushes the sink after success.
    case sink(any OutputSink)
    /// Into a file, atomically: a temporary file beside it is renamed over `path` only when the whole report
    /// was written and checked, so a failed report leaves `path` as it was.
    case file(path: String)
}

/// One format a runner can write, and where it comes from.
public struct AvailableExporter: Sendable {
    /// Where an exporter comes from.
    public enum Kind: Sendable, Equatable {
        /// Built in or registered in the runner's ``ExporterRegistry``.
        case registered
        /// A plugin program.
        case plugin
        /// A plugin program whose name a registered exporter already has: it is never used.
        case shadowedPlugin
    }

    /// The exporter.
    public var exporter: any ReportExporter
    /// Where it comes from.
    public var kind: Kind
    /// The program, for plugins.
    public var executable: URL?
}

/// The one entry point for writing a report: finds the exporter (registered or a plugin), builds the report
/// over one snapshot of the store, writes it through a background writer into a sink or atomically into a
/// file, and checks the report's errors after the rows.
///
/// The command-line tool and a server call this and nothing else, so that both do the same thing. A runner
/// is a value with no process-wide state: it takes the plugin directories as a value (the command-line tool
/// passes the directories of `PATH`), and any number of threads may run reports with one runner at the same
/// time (each run has its own report, writer thread and output).
///
/// **The check after the rows.** A pass over the rows that ends early (a store error, a failing disk) stops
/// the rows quietly; only ``Report/summary()`` throws the error. Built-in exporters call it, but an exporter
/// written elsewhere may not. The runner therefore always asks for the summary after the exporter returned
/// (free when a pass completed) and fails the report with the pass's error: a truncated report never
/// passes as a complete one, and with ``ReportDestination/file(path:)`` nothing is written.
public struct ReportRunner: Sendable {
    /// The built-in and registered exporters.
    public let registry: ExporterRegistry
    /// The directories searched for plugin programs `ozgtrack-exporter-NAME`, in order (empty: no plugins).
    public let pluginDirectories: [String]

    /// A runner over `registry` that looks for plugins in `pluginDirectories`.
    public init(registry: ExporterRegistry = .shared, pluginDirectories: [String] = []) {
        self.registry = registry
        self.pluginDirectories = pluginDirectories.filter { !$0.isEmpty }
    }

    /// A runner that looks for plugins in the directories of a search path in `PATH` syntax (`a:b:c`).
    public init(registry: ExporterRegistry = .shared, pluginSearchPath: String) {
        self.init(registry: registry, pluginDirectories: pluginSearchPath.split(separator: ":").map(String.init))
    }

    /// The plugins in ``pluginDirectories`` (first occurrence of each name), sorted by name.
    public func plugins() -> [ProcessPluginExporter] { ProcessPluginExporter.discover(in: pluginDirectories) }

    /// Every format: the registered exporters, then the plugins (marked when a registered one has their name).
    public func available() -> [AvailableExporter] {
        let registered = registry.all
        let names = Set(registered.map(\.identifier))
        return registered.map { AvailableExporter(exporter: $0, kind: .registered) }
            + plugins().map {
                AvailableExporter(
                    exporter: $0, kind: names.contains($0.identifier) ? .shadowedPlugin : .plugin, executable: $0.executable)
            }
    }

    /// The exporter for a format name, with `options` applied: a registered one, else a plugin.
    /// - Throws: ``ExporterError/unknownFormat(_:known:)`` listing the formats there are.
    public func exporter(named name: String, options: ExportOptions = ExportOptions()) throws(ExporterError)
        -> any ReportExporter
    {
        if let known = registry.exporter(named: name) { return known.configured(options) }
        let plugins = plugins()
        if let plugin = plugins.first(where: { $0.identifier == name }) { return plugin.configured(options) }
        let known = registry.all.map(\.identifier) + plugins.map(\.identifier).filter { registry.exporter(named: $0) == nil }
        throw ExporterError.unknownFormat(name, known: known)
    }

    /// Writes the report for `query` in the format `format` (see ``exporter(named:options:)``).
    /// - Throws: ``ExporterError`` for an unknown format or a failing plugin, the store's errors (also when they
    ///   ended the rows early), ``OutputError`` when the output cannot be written.
    public func run(
        _ query: ReportQuery, catalogue: Catalogue, store: any TrackingStore, format: String,
        options: ExportOptions = ExportOptions(), to destination: ReportDestination
    ) throws {
        try run(query, catalogue: catalogue, store: store, exporter: exporter(named: format, options: options), to: destination)
    }

    /// Writes the report for `query` with `exporter`.
    /// - Throws: the exporter's errors, the store's errors (also when they ended the rows early),
    ///   ``OutputError`` when the output cannot be written.
    public func run(
        _ query: ReportQuery, catalogue: Catalogue, store: any TrackingStore, exporter: any ReportExporter,
        to destination: ReportDestination
    ) throws {
        switch destination {
        case .sink(let sink):
            try Self.write(query, catalogue: catalogue, store: store, exporter: exporter, to: sink)
        case .file(let path):
            try AtomicFileSink.write(to: path) { sink in
                try Self.write(query, catalogue: catalogue, store: store, exporter: exporter, to: sink)
            }
        }
    }

    /// Formats on this thread and writes out on another (a national report writes gigabytes), then checks the
    /// pass.
    private static func write(
        _ query: ReportQuery, catalogue: Catalogue, store: any TrackingStore, exporter: any ReportExporter,
        to sink: any OutputSink
    ) throws {
        let background = BackgroundSink(sink)
        try Report.with(query, catalogue: catalogue, store: store) { report in
            try exporter.write(report, to: background)
            // The rows of a pass that failed end quietly; the check throws the failure. After a complete pass
            // this costs nothing; after an exporter that read no rows (or stopped early) it runs the pass.
            try report.checkPass()
        }
        try background.finish()
    }
}
