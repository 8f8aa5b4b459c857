import Foundation
import OZGCore

/// The package root (tests read the repository's own catalogue folder and fixtures).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built-in catalogue, loaded once for all tests.
let builtIn: Catalogue = {
    do {
        return try Catalogue.builtIn()
    } catch {
        preconditionFailure("the built-in catalogue does not load: \(error)")
    }
}()

/// Calls `body` with the bytes of `text`.
func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    var copy = text
    return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
}

/// Calls `body` with the bytes of `data`.
func withBytes<R>(_ data: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try data.withUnsafeBytes { try body($0) }
}

/// A temporary directory removed after `body`.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Copies the repository's catalogue folder into `directory` and returns the copy's URL.
func copyCatalogue(into directory: URL) throws -> URL {
    let target = directory.appendingPathComponent("catalogue")
    try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("catalogue"), to: target)
    return target
}

/// Replaces line `number` (1-based) of the text file at `url`.
func replaceLine(_ number: Int, in url: URL, with text: String) throws {
    var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
    lines[number - 1] = text
    try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
}
