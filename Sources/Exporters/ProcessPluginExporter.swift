public import Foundation
public import OZGCore

/// An exporter that is a separate program: an executable named `ozgtrack-exporter-NAME` in the plugin
/// directories (the command-line tool searches `PATH`) becomes the format `NAME`.
///
/// The program receives the report on standard input as JSON Lines (schema `ozgtrack-report-jsonl/1`, see
/// ``JSONLinesExporter``: a header line, one line per row, a summary line) and writes the output to standard
/// output. The environment variable `OZGTRACK_REPORT_SCHEMA` names the schema. A program that exits with a
/// status other than 0, or is killed, fails the report with its standard error; written through
/// ``ReportRunner`` into a file, no file is left behind. Writing to the plugin never raises `SIGPIPE` and changes
/// no process-wide state, so plugins may run from several threads at once.
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

    /// The plugins in `directories` (searched in order; the first occurrence of a name counts), sorted by name.
    /// Directories that do not exist or cannot be read are skipped.
    public static func discover(in directories: [String]) -> [ProcessPluginExporter] {
        var found: [String: ProcessPluginExporter] = [:]
        for directory in directories where !directory.isEmpty {
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

    /// The plugins on a search path in `PATH` syntax (`a:b:c`), as ``discover(in:)``.
    public static func discover(searchPath: String) -> [ProcessPluginExporter] {
        discover(in: searchPath.split(separator: ":").map(String.init))
    }

    public func write(_ report: Report, to sink: any OutputSink) throws {
        let process = Process()
        process.executableURL = executable
        // The plugin inherits this process's environment (it is a program the user installed), plus the schema.
        var environment = ProcessInfo.processInfo.environment
        environment["OZGTRACK_REPORT_SCHEMA"] = JSONLinesExporter.schema
        process.environment = environment
        // The plugin's standard input is one end of a socket pair, not a pipe: a plugin that stops reading early
        // must not kill this process with SIGPIPE, and a socket can be written without SIGPIPE per call
        // (`MSG_NOSIGNAL`; see `DescriptorWriter(socket:name:)`). Ignoring SIGPIPE process-wide around the
        // write instead would race with other threads (a server runs reports concurrently) and change the
        // disposition for everything else in the process.
        let input = try Self.socketPair(identifier: identifier)
        let output = Pipe()
        let errors = Pipe()
        let childInput = FileHandle(fileDescriptor: input.child, closeOnDealloc: false)
        process.standardInput = childInput
        process.standardOutput = output
        process.standardError = errors
        do {
            try Self.launch(process)
        } catch {
            close(input.child)
            close(input.parent)
            throw ExporterError.pluginFailed(name: identifier, reason: "could not be started (\(Self.reason(error)))", stderr: "")
        }
        // The child has its copy; ours would keep the plugin from seeing the end of its input.
        close(input.child)
        let pump = PluginPump(sink: sink, output: output.fileHandleForReading, errors: errors.fileHandleForReading)
        pump.start()
        let stdin = DescriptorSink(socket: input.parent, name: "the plugin's standard input")
        var writeError: (any Error)?
        do {
            try JSONLinesExporter().write(report, to: stdin)
            try stdin.flush()
        } catch let error as OutputError {
            writeError = error  // the plugin closed its input; its exit status says why
        } catch {
            close(input.parent)
            pump.wait()
            process.waitUntilExit()
            throw error
        }
        close(input.parent)
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

    /// Starts `process`, trying again for a while if the kernel says its program is open for writing (`ETXTBSY`).
    ///
    /// That happens without anyone writing the plugin: a file written by this process (or just installed by
    /// another) is held open for writing by any child another thread forked in the moment before the file was
    /// closed, until that child calls `exec`. The window is short, and a test suite that writes plugins while
    /// other tests start programs hit it in CI. A plugin that stays busy fails after about a second.
    private static func launch(_ process: Process) throws {
        var delay: UInt32 = 1_000
        for _ in 0..<10 {
            do {
                return try process.run()
            } catch let error as NSError where posixCode(of: error) == ETXTBSY {
                usleep(delay)
                delay *= 2
            }
        }
        try process.run()
    }

    /// The POSIX error code behind a Foundation error from `Process.run()`, if it has one.
    private static func posixCode(of error: NSError) -> Int32? {
        if error.domain == NSPOSIXErrorDomain { return Int32(error.code) }
        guard let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain else { return nil }
        return Int32(underlying.code)
    }

    /// Why a program could not be started, in the system's words ("No such file or directory", "Permission
    /// denied") rather than Foundation's generic "The operation could not be completed".
    private static func reason(_ error: any Error) -> String {
        if let code = posixCode(of: error as NSError) { return String(cString: strerror(code)) }
        return error.localizedDescription
    }

    /// A connected pair of stream sockets, both closed on exec (so that a plugin started at the same time by
    /// another thread does not inherit them and keep this plugin's input open).
    private static func socketPair(identifier: String) throws -> (parent: Int32, child: Int32) {
        var descriptors: [Int32] = [-1, -1]
        #if os(Linux)
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &descriptors) == 0 else {
            throw ExporterError.pluginFailed(
                name: identifier, reason: "could not be started (no socket for its input: \(String(cString: strerror(errno))))", stderr: "")
        }
        #if !os(Linux)
            for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        #endif
        return (descriptors[0], descriptors[1])
    }
}

/// Writes to the plugin's input socket, without SIGPIPE.
final class DescriptorSink: OutputSink {
    private let writer: DescriptorWriter

    init(socket: Int32, name: String) { writer = DescriptorWriter(socket: socket, name: name) }

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
