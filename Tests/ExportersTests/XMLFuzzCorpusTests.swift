import Foundation
import Testing

@testable import Exporters

@Suite("The XML fuzz corpus: every kept input (seeds and former crashes) is read without crashing")
struct XMLFuzzCorpusTests {
    static let folder = packageRoot.appendingPathComponent("Tests/Fuzz/corpus/xml")

    /// The corpus files (none when the folder is missing: ``corpusExists()`` fails then).
    static var files: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test("XML import and validator", arguments: files)
    func xml(file: URL) throws {
        let data = try Data(contentsOf: file)
        data.withUnsafeBytes { XMLFuzzEntry.xml($0) }
    }

    @Test("the corpus folder exists and holds the seeds")
    func corpusExists() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
        #expect(names.count >= 5, "the corpus folder \(Self.folder.path) has \(names.count) files")
    }
}
