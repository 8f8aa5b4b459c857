// Generates `EmbeddedData.swift`: each input file as one raw string literal.
// Usage: EmbedDataTool OUTPUT [NAME PATH]...
import Foundation

/// Returns the Swift source of a raw string literal holding `text` exactly (line endings normalised to LF,
/// as a multi-line literal does anyway). The number of `#` is chosen so that nothing in the text can end
/// the literal or start an escape; control characters other than LF and TAB are written as escapes.
func rawLiteral(_ text: String) -> String {
    var hashes = 1
    while text.contains("\"" + String(repeating: "#", count: hashes))
        || text.contains("\\" + String(repeating: "#", count: hashes))
    {
        hashes += 1
    }
    let delimiter = String(repeating: "#", count: hashes)
    var body = ""
    body.reserveCapacity(text.utf8.count + 64)
    for scalar in text.unicodeScalars {
        switch scalar.value {
        case 0x0A, 0x09: body.unicodeScalars.append(scalar)
        case 0x00..<0x20, 0x7F: body += "\\\(delimiter)u{\(String(scalar.value, radix: 16))}"
        default: body.unicodeScalars.append(scalar)
        }
    }
    // A trailing newline in the file would be swallowed by the literal's closing line; keep it explicit.
    return "\(delimiter)\"\"\"\n\(body)\n\"\"\"\(delimiter)"
}

let arguments = CommandLine.arguments.dropFirst()
guard let outputPath = arguments.first, arguments.count % 2 == 1 else {
    FileHandle.standardError.write(Data("usage: EmbedDataTool OUTPUT [NAME PATH]...\n".utf8))
    exit(2)
}
var source = """
    // Generated at build time by the EmbedData plugin from the files listed in embed.list. Do not edit.

    /// The data files embedded into this module, keyed by their path relative to the package root.
    enum EmbeddedData {
        static let files: [String: StaticString] = [

    """
let pairs = Array(arguments.dropFirst())
for index in stride(from: 0, to: pairs.count, by: 2) {
    let name = pairs[index]
    let path = pairs[index + 1]
    guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
        FileHandle.standardError.write(Data("EmbedDataTool: \(path) is missing or not UTF-8\n".utf8))
        exit(1)
    }
    text = text.replacingOccurrences(of: "\r\n", with: "\n")
    if text.hasSuffix("\n") { text.removeLast() }
    source += "        \(String(reflecting: name)): \(rawLiteral(text)),\n"
}
source += "    ]\n}\n"
do {
    let url = URL(fileURLWithPath: outputPath)
    if (try? String(contentsOf: url, encoding: .utf8)) != source {
        try source.write(to: url, atomically: true, encoding: .utf8)
    }
} catch {
    FileHandle.standardError.write(Data("EmbedDataTool: cannot write \(outputPath): \(error)\n".utf8))
    exit(1)
}
