import Foundation
import Testing

@testable import OZGCore

@Suite("The fuzz corpus: every kept input (seeds and former crashes) is read without crashing")
struct FuzzCorpusTests {
    static func files(_ target: String) -> [URL] {
        let folder = packageRoot.appendingPathComponent("Tests/Fuzz/corpus/\(target)")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
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
