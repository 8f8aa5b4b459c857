import Foundation
import Testing
@testable import OZGCore

/// The import's reading stage has two ways in (a CSV file hands its rows over directly; other sources go through
/// `forEachRow`'s `Result`s) and two ways on (rows for an empty store are completed right away; rows for a store
/// that holds records are merged by the writing stage). Every combination must import the same records and
/// report the same errors.
@Suite("Import paths: empty or filled store, direct or generic source, the same records and errors")
struct ImportPathTests {
    static let header = "region,ozg_id,status,maturity,maturity_model,planned,online_since,url,solution,note\n"

    /// A record of a region that no input below touches: its presence makes the store non-empty.
    static let seed = (region: "09162000", service: "10000")

    /// Hands out the rows of a CSV file through `forEachRow` only, as sources other than the CSV one do.
    struct GenericSource: RecordSource {
        let base: CSVRecordSource
        var file: String { base.file }
        func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws { try base.forEachRow(body) }
    }

    /// What an import did: its summary, or its errors as the user sees them; and the dump afterwards without
    /// the seeded record.
    struct Outcome: Equatable {
        var result: String
        var dump: String
    }

    static func run(_ text: String, filled: Bool, direct: Bool, skipUnknown: Bool) throws -> Outcome {
        let db = try TestDatabase()
        if filled { _ = try db.set(seed.region, seed.service, RecordUpdate(status: .online)) }
        let path = try db.file("import.csv", text)
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: skipUnknown)
        let csv = CSVRecordSource(path: path, validator: validator)
        let source: any RecordSource = direct ? csv : GenericSource(base: csv)
        let result: String
        do {
            // The seeded store counts nothing differently for these inputs (none touches the seed).
            let summary = try Importer.run(
                [source], into: db.store, batch: BatchInfo(actor: "test", source: "import.csv", command: "import"),
                validator: validator)
            result = "\(summary.rows) rows, \(summary.inserted) inserted, \(summary.updated) updated, "
                + "\(summary.unchanged) unchanged, \(summary.skipped) skipped: \(summary.warnings)"
        } catch let errors as InputErrors {
            result = String(describing: errors).replacingOccurrences(of: db.directory.path, with: "DIR")
        } catch let error as InputError {
            result = String(describing: error).replacingOccurrences(of: db.directory.path, with: "DIR")
        }
        let dump = try db.dump().split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\(seed.region),\(seed.service),") }.joined(separator: "\n")
        return Outcome(result: result, dump: dump)
    }

    static let inputs: [(name: String, text: String, skipUnknown: Bool)] = [
        ("valid rows", header + "08111000,10000,online,3,1,,2024-01-01,https://example.org/a,EfA-Dienst,\n"
            + "08111000,10001,planned,,,2027-02-01,,,,\n08115,10046,in_progress,5,2,,,,,Notiz\n", false),
        ("quoted fields with delimiters, quotes and line breaks", header
            + "08111000,10000,online,,,,,\"https://example.org/a?x=1,2\",\"EfA \"\"Elterngeld\"\"\",\"Zeile 1\nZeile 2, mit Komma\"\n"
            + "08111000,10001,online,,,,,,'=SUMME(A1),\n", false),
        ("CRLF line ends and a byte-order mark", "\u{FEFF}" + header.replacingOccurrences(of: "\n", with: "\r\n")
            + "08111000,10000,online,2,1,,,,,\r\n08111000,10001,not_started,,,,,,,\r\n", false),
        ("semicolons and columns in another order", "ozg_id;note;region;status\n10000;\"a; b\";08111000;online\n", false),
        ("bad rows among good ones", header + "08111000,10000,online,9,1,,,,,\n08111000,10001,online,,,,,,,\n"
            + "08111000,10002,,,,,,,,\n08111000,10003,online,,,2024-02-30,,,,\n08111000,10004,online,,2,,,,,\n"
            + "08111000,10005,online,,,,,ftp://x,,\n08111000,10006,online\n08999999,10007,online,,,,,,,\n", false),
        ("duplicates, also through an ARS", header + "08111000,10000,online,,,,,,,\n08111000,10001,online,,,,,,,\n"
            + "081110000000,10000,planned,,,,,,,\n08111000,10001,online,,,,,,,\n", false),
        ("unknown keys skipped", header + "08999999,10000,online,,,,,,,\n08111000,99999,online,,,,,,,\n"
            + "08111000,10000,online,,,,,,,\n08111000,1000,online,,,,,,,\n", true),
        ("a broken quote ends the file", header + "08111000,10000,online,,,,,,,\n08111000,10001,online,,,,,\"x,,\n", false),
    ]

    @Test("every path imports the same records and reports the same errors", arguments: inputs.indices)
    func samePaths(index: Int) throws {
        let input = Self.inputs[index]
        let reference = try Self.run(input.text, filled: false, direct: true, skipUnknown: input.skipUnknown)
        for (filled, direct) in [(false, false), (true, true), (true, false)] {
            let other = try Self.run(input.text, filled: filled, direct: direct, skipUnknown: input.skipUnknown)
            #expect(other == reference, "\(input.name): filled \(filled), direct \(direct)")
        }
    }

    @Test("more rows than fit in one chunk arrive complete and in order on every path")
    func manyChunks() throws {
        var text = Self.header
        let gemeinden = builtIn.regions.descendants(of: RegionKey(canonical: "08"), level: .gemeinde).prefix(12)
        for gemeinde in gemeinden {
            for service in builtIn.services.services.prefix(2_000) {
                text += "\(gemeinde.key),\(service.id),online,,,,,https://example.org/\(service.id),,\n"
            }
        }
        let reference = try Self.run(text, filled: false, direct: true, skipUnknown: false)
        #expect(reference.dump.split(separator: "\n").count > ReadingStage.chunkSize)
        #expect(try Self.run(text, filled: true, direct: false, skipUnknown: false) == reference)
    }
}
