import Foundation
import Testing

@testable import OZGCore

@Suite("The fuzz corpus: every kept input (seeds and former crashes) is read without crashing")
struct FuzzCorpusTests {
    static func folder(_ target: String) -> URL { packageRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)") }

    /// The corpus files of `target` (none when the folder is missing: ``corpusExists(target:)`` fails then,
    /// since a parameterised test over no files would pass without reading anything).
    static func files(_ target: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(target).path)) ?? []
        return names.sorted().map { folder(target).appendingPathComponent($0) }
    }

    @Test("each target's corpus folder exists and holds inputs", arguments: ["csv", "json", "keys", "registry"])
    func corpusExists(target: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder(target).path)
        #expect(!names.isEmpty, "the corpus folder \(Self.folder(target).path) is empty")
    }

    @Test("CSV readers", arguments: files("csv"))
    func csv(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { FuzzEntries.csv($0) }
    }

    @Test("JSON readers", arguments: files("json"))
    func json(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { FuzzEntries.json($0) }
    }

    @Test("value parsers", arguments: files("keys"))
    func keys(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { FuzzEntries.keys($0) }
    }

    @Test("the GV100AD reader", arguments: files("registry"))
    func registry(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { FuzzEntries.registry($0) }
    }
}
