public import Foundation
public import OZGCore

/// An exporter that is a separate program: an executable named `ozgtrack-exporter-NAME` on `PATH` becomes the
/// format `NAME`.
///
/// The program receives the report on standard input as JSON Lines (schema `ozgtrack-report-jsonl/1`, see
/// ``JSONLinesExporter``: a header line, one line per row, a summary line) and writes the output to standard
/// output. The environment variable `OZGTRACK_REPORT_SCHEMA` names the schema. A program that exits with a
/// status other than 0, or is killed, fails the report: its standard error is shown and, with `--output`, no
/// file is left behind.
public struct ProcessPluginExporter: ReportExporter {
    /// The prefix of plugin executables.
    public static let prefix = "ozgtrack-exporter-"

    public let identifier: String
    /// The program.
    public let executable: URL
    public var description: String { "plugin \(executable.path)" }
    public var fileExtension: String { identifier }
    public let mediaType = "application/octet-stream"

    public init(identifier: String, executable: URL) {
        self.identifier = identifier
        self.executable = executable
    }

    /// Whether `name` can be a format name: lower-case letters, digits and `-`, starting with a letter or digit.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// The plugins on a search path (`PATH` syntax), first occurrence of each name, sorted by name.
    public static func discover(searchPath: String? = ProcessInfo.processInfo.environment["PATH"]) -> [ProcessPluginExporter] {
        var found: [String: ProcessPluginExporter] = [:]
        for directory in (searchPath ?? "").split(separator: ":").map(String.init) where !directory.isEmpty {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for entry in entries.sorted() where entry.hasPrefix(prefix) {
                let name = String(entry.dropFirst(prefix.count))
                let path = URL(fileURLWithPath: directory).appendingPathComponent(entry)
                guard isValidName(name), found[name] == nil, FileManager.default.isExecutableFile(atPath: path.path) else { continue }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
                found[name] = ProcessPluginExporter(identifier: name, executable: path)
            }
        }
        return found.values.sorted { $0.identifier < $1.identifier }
    }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let process = Process()
        process.executableURL = executable
        var environment = ProcessInfo.processInfo.environment
        environment["OZGTRACK_REPORT_SCHEMA"] = JSONLinesExporter.schema
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw ExporterError.pluginFailed(name: identifier, reason: "could not be started (\(error.localizedDescription))", stderr: "")
        }
        let pump = PluginPump(sink: sink, output: output.fileHandleForReading, errors: errors.fileHandleForReading)
        pump.start()
        // A plugin that stops reading early must not kill ozgtrack with SIGPIPE: writes then fail with EPIPE.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let stdin = DescriptorSink(descriptor: input.fileHandleForWriting.fileDescriptor, name: "the plugin's standard input")
        var writeError: (any Error)?
        do {
            try JSONLinesExporter().write(report, to: stdin)
            try stdin.flush()
        } catch let error as OutputError {
            writeError = error  // the plugin closed its input; its exit status says why
        }
        try? input.fileHandleForWriting.close()
        pump.wait()
        process.waitUntilExit()
        let stderr = pump.stderrText
        if process.terminationReason == .uncaughtSignal {
            throw ExporterError.pluginFailed(name: identifier, reason: "was killed by signal \(process.terminationStatus)", stderr: stderr)
        }
        if process.terminationStatus != 0 {
            throw ExporterError.pluginFailed(name: identifier, reason: "exited with status \(process.terminationStatus)", stderr: stderr)
        }
        if let sinkError = pump.sinkError { throw sinkError }
        if let writeError {
            throw ExporterError.pluginFailed(
                name: identifier, reason: "stopped reading its input (\(writeError)) although it exited with status 0", stderr: stderr)
        }
    }
}

/// Writes to a file descriptor (the plugin's input pipe).
final class DescriptorSink: OutputSink {
    private let writer: DescriptorWriter

    init(descriptor: Int32, name: String) { writer = DescriptorWriter(descriptor: descriptor, name: name) }

    func write(_ text: String) throws { try writer.write(text) }

    func write(bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes: bytes) }

    func flush() throws { try writer.flush() }
}

/// Copies a plugin's standard output into the sink and collects its standard error, on two threads of its
/// own, while the caller feeds the plugin's input.
///
/// `@unchecked Sendable`: the sink is touched only by the output thread until ``wait()`` returns, and the
/// collected values are read only after it.
final class PluginPump: @unchecked Sendable {
    private let sink: any OutputSink
    private let output: FileHandle
    private let errors: FileHandle
    private let group = DispatchGroup()
    private(set) var sinkError: (any Error)?
    private var stderrData = Data()
    /// At most this much of the plugin's standard error is kept.
    static let stderrLimit = 64 * 1024

    init(sink: any OutputSink, output: FileHandle, errors: FileHandle) {
        self.sink = sink
        self.output = output
        self.errors = errors
    }

    func start() {
        group.enter()
        Thread.detachNewThread { [self] in
            defer { group.leave() }
            while true {
                let chunk = output.availableData
                if chunk.isEmpty { break }
                if sinkError == nil {
                    do {
                        try chunk.withUnsafeBytes { try sink.write(bytes: $0) }
                    } catch {
                        sinkError = error
                    }
                }
            }
        }
        group.enter()
        Thread.detachNewThread { [self] in
            defer { group.leave() }
            while true {
                let chunk = errors.availableData
                if chunk.isEmpty { break }
                if stderrData.count < Self.stderrLimit { stderrData.append(chunk.prefix(Self.stderrLimit - stderrData.count)) }
            }
        }
    }

    func wait() { group.wait() }

    var stderrText: String { String(decoding: stderrData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}
