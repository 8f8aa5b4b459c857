import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The package root.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The `ozgtrack` binary built for the tests (beside the test bundle), or `OZGTRACK_BINARY`.
let binary: URL = {
    if let path = ProcessInfo.processInfo.environment["OZGTRACK_BINARY"] { return URL(fileURLWithPath: path) }
    var directory = Bundle.main.bundleURL
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("ozgtrack")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    return packageRoot.appendingPathComponent(".build/debug/ozgtrack")
}()

/// The test process's environment without ozgtrack's own variables.
func childEnvironment() -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "OZGTRACK_CATALOGUE")
    environment.removeValue(forKey: "OZGTRACK_DB")
    return environment
}

/// The outcome of one run of the binary.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `body` on a thread of its own: waiting for a process must never hold one of the few threads that Swift's
/// concurrency runs on (on two cores, two blocked tests would starve every HTTP response).
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// Runs `ozgtrack` with `arguments` in `directory`.
@discardableResult
func ozgtrack(_ arguments: [String], in directory: URL) async throws -> Run {
    try await offload { try runBinary(arguments, in: directory) }
}

private func runBinary(_ arguments: [String], in directory: URL) throws -> Run {
    try runProcess(binary, arguments, in: directory)
}

/// Runs `program` with `arguments` in `directory`, with ozgtrack's variables removed from its environment; after
/// `timeout` seconds it is killed (a command that should have failed but serves instead must not hang the test).
func program(_ program: URL, _ arguments: [String], in directory: URL, timeout: TimeInterval? = nil) async throws -> Run {
    try await offload { try runProcess(program, arguments, in: directory, timeout: timeout) }
}

private func runProcess(_ executable: URL, _ arguments: [String], in directory: URL, timeout: TimeInterval? = nil) throws -> Run {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = childEnvironment()
    process.currentDirectoryURL = directory
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let finished = Finished()
    if let timeout {
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            finished.flag.withLock { finished in if !finished { kill(pid, SIGKILL) } }
        }
    }
    defer { finished.flag.withLock { $0 = true } }
    let group = DispatchGroup()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Run(
        status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Whether a process was waited for (then its id may belong to another process: never kill it).
private final class Finished: Sendable {
    let flag = Mutex(false)
}

/// A temporary directory with an initialised database `db.sqlite`, removed after `body`.
func withDatabase<R>(_ body: (URL) async throws -> R) async throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-serve-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    let run = try await ozgtrack(["init", "--db", url.appendingPathComponent("db.sqlite").path], in: url)
    #expect(run.status == 0, "\(run.stderr)")
    return try await body(url)
}

/// Creates a token and returns its secret.
func createToken(_ name: String, scope: String?, role: String, in directory: URL) async throws -> String {
    var arguments = ["token", "create", "--db", "db.sqlite", "--name", name, "--role", role]
    if let scope { arguments += ["--scope", scope] }
    let run = try await ozgtrack(arguments, in: directory)
    #expect(run.status == 0, "\(run.stderr)")
    return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A running `ozgtrack serve` on a free loopback port.
final class Server: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// `http`, or `https` with `--tls-cert`.
    let scheme: String
    let directory: URL
    private let errors = Pipe()
    private let output = Pipe()

    /// Starts the server on the database in `directory` and waits until it listens.
    static func start(directory: URL, arguments: [String] = []) async throws -> Server {
        try await offload { try Server(directory: directory, arguments: arguments) }
    }

    private init(directory: URL, arguments: [String]) throws {
        self.directory = directory
        process.executableURL = binary
        process.arguments = ["serve", "--db", "db.sqlite", "--port", "0"] + arguments
        process.environment = childEnvironment()
        process.currentDirectoryURL = directory
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The first line on stdout is "listening on http://HOST:PORT".
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let portText = text.split(separator: ":").last, let port = Int(portText) else {
            process.terminate()
            throw ServerError(message: "the server did not start: \(text)")
        }
        self.port = port
        scheme = text.contains("https://") ? "https" : "http"
        // Keep draining stderr so that logging never blocks the server.
        let handle = errors.fileHandleForReading
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let sink = try FileHandle(forWritingTo: log)
        handle.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { sink.write(data) }
        }
    }

    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Everything the server logged so far.
    var log: String { (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? "" }

    /// Sends SIGTERM and waits for the exit status.
    func terminate() async throws -> Int32 {
        let process = self.process
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return try await offload {
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct ServerError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// An HTTP response as the tests look at it.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> Any { try JSONSerialization.jsonObject(with: body) }
    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// One session for all tests: no caching, no cookies.
let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 300
    configuration.timeoutIntervalForResource = 600
    configuration.httpMaximumConnectionsPerHost = 64
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: configuration)
}()

/// Sends one request to the server.
func http(
    _ method: String, _ server: Server, _ path: String, token: String? = nil, body: Data? = nil, contentType: String? = nil,
    headers: [String: String] = [:]
) async throws -> HTTPResult {
    guard let url = URL(string: path, relativeTo: server.base) else { throw ServerError(message: "bad path \(path)") }
    var request = URLRequest(url: url)
    request.httpMethod = method
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response): (Data, URLResponse)
    if let body {
        (data, response) = try await session.upload(for: request, from: body)
    } else {
        (data, response) = try await session.data(for: request)
    }
    guard let response = response as? HTTPURLResponse else { throw ServerError(message: "not HTTP") }
    var fields: [String: String] = [:]
    for (name, value) in response.allHeaderFields {
        if let name = name as? String, let value = value as? String { fields[name] = value }
    }
    return HTTPResult(status: response.statusCode, headers: fields, body: data)
}

/// A JSON body.
func jsonBody(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

/// Whether tests that need an external program may be skipped (`OZGTRACK_QUICK=1`).
var quickMode: Bool { ProcessInfo.processInfo.environment["OZGTRACK_QUICK"] == "1" }

/// The path of an executable on PATH, if there is one.
func executable(named name: String) -> String? {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}
