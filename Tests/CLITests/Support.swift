import Foundation
import Testing

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

/// The test process's environment without ozgtrack's own variables (so that the caller's database or catalogue
/// never leaks into a test), plus `extra`.
func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment.removeValue(forKey: "OZGTRACK_CATALOGUE")
    environment.removeValue(forKey: "OZGTRACK_DB")
    for (key, value) in extra { environment[key] = value }
    return environment
}

/// The outcome of one run of the binary.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `ozgtrack` with `arguments` in `directory` (a fresh temporary one by default), with `input` on stdin.
@discardableResult
func ozgtrack(
    _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:], input: Data? = nil
) throws -> Run {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.environment = childEnvironment(environment)
    let workingDirectory = directory ?? FileManager.default.temporaryDirectory
    process.currentDirectoryURL = workingDirectory
    let out = Pipe()
    let err = Pipe()
    let inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = inPipe
    try process.run()
    if let input { inPipe.fileHandleForWriting.write(input) }
    try inPipe.fileHandleForWriting.close()
    // Read both pipes to the end before waiting, so that a large output cannot block the child.
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

/// A temporary directory removed after `body`.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Parses JSON output.
func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}
