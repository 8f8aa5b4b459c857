import Foundation
import PackagePlugin

/// Embeds data files into a target as Swift raw string literals, so the built tool carries them.
///
/// A target opts in with a file `embed.list` in its source folder. Each line names a file or a folder,
/// relative to the package root; a folder contributes every regular file below it (sorted, recursively).
/// Lines starting with `#` are comments. The plugin generates `EmbeddedData.swift` into the target:
/// `EmbeddedData.files`, a dictionary from the listed relative path to the file's text.
///
/// Why raw string literals: SwiftPM's `.embedInCode` resource rule emits a byte-array literal that the
/// type checker cannot handle for multi-megabyte files, while one raw string literal of the same file
/// compiles in about a second and is usable without copying (`StaticString`).
@main
struct EmbedData: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let listURL = target.directoryURL.appending(path: "embed.list")
        guard let list = try? String(contentsOf: listURL, encoding: .utf8) else { return [] }
        let root = context.package.directoryURL
        var inputs: [(relative: String, url: URL)] = []
        for rawLine in list.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let url = root.appending(path: line)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw EmbedError("embed.list of \(target.name) names '\(line)', which does not exist")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(
                    at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
                var found: [String] = []
                while let next = enumerator?.nextObject() as? URL {
                    if (try? next.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                        let relative = String(next.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count))
                        found.append(relative.hasPrefix("/") ? String(relative.dropFirst()) : relative)
                    }
                }
                for relative in found.sorted() { inputs.append((relative, root.appending(path: relative))) }
            } else {
                inputs.append((line, url))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedData.swift")
        var arguments = [output.path]
        for input in inputs { arguments += [input.relative, input.url.path] }
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) data files into \(target.name)",
                executable: try context.tool(named: "EmbedDataTool").url,
                arguments: arguments,
                inputFiles: [listURL] + inputs.map(\.url),
                outputFiles: [output])
        ]
    }
}

struct EmbedError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
