import Foundation
import Testing

@testable import Exporters

@Suite("The XML fuzz corpus: every kept input (seeds and former crashes) is read without crashing")
struct XMLFuzzCorpusTests {
    static var files: [URL] {
        let folder = packageRoot.appendingPathComponent("Tests/Fuzz/corpus/xml")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("XML import and validator", arguments: files)
    func xml(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { XMLFuzzEntry.xml($0) }
    }

    @Test("the corpus is not empty")
    func corpusExists() {
        #expect(Self.files.count >= 5)
    }
}
