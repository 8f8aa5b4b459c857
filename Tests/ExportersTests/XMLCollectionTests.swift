import Exporters
import Foundation
import OZGCore
import Testing

/// The ministry's workflow: every Gemeinde sends `ozgtrack report --scope AGS --format xml`, the ministry imports
/// all the files in one command.
@Suite("The ministry's collection: many Gemeinde XML reports imported at once")
struct XMLCollectionTests {
    /// The Gemeinden of ``sampleRecords``.
    static let gemeinden = ["08115001", "08115003", "04011000", "03352002"]

    /// The reports of `gemeinden` from `source` (as the Gemeinden send them: with provenance), as files.
    private func reports(from source: XMLTestDatabase, _ gemeinden: [String] = gemeinden) throws -> [String] {
        try gemeinden.map { key in
            try source.file("\(key).xml", try source.exportXML(try reproducible(key, provenance: true)))
        }
    }

    private func filledSource() throws -> XMLTestDatabase {
        let source = try XMLTestDatabase()
        try populate(source)
        return source
    }

    /// The dump of the records of `gemeinden` (one header, rows in key order).
    private func dump(_ db: XMLTestDatabase, _ gemeinden: [String]) throws -> String {
        var text = ""
        for key in gemeinden.sorted() {
            let sink = StringSink()
            try Dump.write(store: db.store, scope: try RegionScope(try RegionKey(key), in: builtIn.regions), to: sink)
            text += text.isEmpty ? sink.text : String(sink.text.drop { $0 != "\n" }.dropFirst())
        }
        return text
    }

    @Test("many reports are one import: every record of every file is written in one batch")
    func oneBatch() throws {
        let source = try filledSource()
        let paths = try reports(from: source)
        let target = try XMLTestDatabase()
        let summary = try target.importXML(paths)
        #expect(summary.inserted == 8)
        var batches = Set<Date>()
        try target.store.read { reader in
            try reader.forEachRecord(prefix: nil, asOf: nil) { record in
                batches.insert(record.updatedAt)
                #expect(record.source == "report.xml")
                return true
            }
        }
        #expect(batches.count == 1)
    }

    @Test("one bad report among many refuses them all, naming its file, line and field; nothing is written")
    func oneBadFileRefusesAll() throws {
        let source = try filledSource()
        var paths = try reports(from: source)
        let bad = paths[2]
        let text = try String(contentsOfFile: bad, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.contains("<eintrag ozgId=\"10000\" status=\"online\"") })
        var changed = lines
        changed[index] = lines[index].replacingOccurrences(of: "status=\"online\"", with: "status=\"onlien\"")
        try changed.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        paths.append(paths.removeFirst())  // the bad file in the middle, good ones before and after

        let target = try XMLTestDatabase()
        let error = try #require(throws: InputErrors.self) { try target.importXML(paths) }
        let first = try #require(error.errors.first)
        #expect(first.file == bad)
        #expect(first.line == index + 1)
        #expect(first.field == "eintrag/@status")
        #expect(first.message.contains("onlien"))
        #expect(try target.store.read { try $0.isEmpty() })
    }

    @Test("after importing the Gemeinden's reports, the dump equals the source's dump of those Gemeinden")
    func roundTrip() throws {
        let source = try filledSource()
        let target = try XMLTestDatabase()
        let summary = try target.importXML(try reports(from: source))
        let expected = try dump(source, Self.gemeinden)
        #expect(summary.inserted == 8)
        #expect(try dump(target, Self.gemeinden) == expected)
        // Nothing beyond them (the Kreis's and the Land's records are not in a Gemeinde's report).
        #expect(try dump(target, Self.gemeinden) == (try XMLTestDatabase.dumpAll(target)))
    }

    @Test("the same record in two reports is refused as in one file: 'appear again', naming where it came first")
    func duplicateAcrossFiles() throws {
        let source = try filledSource()
        let first = try reports(from: source, ["08115003"])[0]
        let second = try source.file("again.xml", try String(contentsOfFile: first, encoding: .utf8))
        let target = try XMLTestDatabase()
        let error = try #require(throws: InputErrors.self) { try target.importXML([first, second]) }
        let duplicate = try #require(error.errors.first)
        #expect(duplicate.kind == .duplicate)
        #expect(duplicate.file == second)
        #expect(duplicate.message.contains("appear again (first on \(first):"))
        #expect(error.total == 5)
        #expect(try target.store.read { try $0.isEmpty() })
    }

    // MARK: The fast path

    /// Reports of ``sampleRecords`` of every level, with and without provenance (the country's report, every
    /// Gemeinde × every service, is larger than the fast path takes: libxml2 streams it).
    static let exports: [(scope: String?, provenance: Bool)] = [
        ("08115003", true), ("08115003", false), ("08115", true), ("04", false), ("033525404", true),
    ]

    @Test("reports ozgtrack writes take the fast path, which reads the same rows as libxml2", arguments: exports)
    func fastPathTaken(_ scope: String?, _ provenance: Bool) throws {
        let source = try filledSource()
        let path = try source.file("report.xml", try source.exportXML(try reproducible(scope, provenance: provenance)))
        #expect(XMLRecordSource.takesFastPath(path))
        try expectSameReading(path)
    }

    /// Changes to a report that leave the fast path's narrow form (libxml2 then reads the file), some valid,
    /// some not.
    static let variations: [(String, @Sendable (String) -> String)] = [
        ("a comment", { $0.replacingOccurrences(of: "<eintraege>", with: "<eintraege><!-- x -->") }),
        ("CRLF line ends", { $0.replacingOccurrences(of: "\n", with: "\r\n") }),
        ("a byte order mark", { "\u{FEFF}" + $0 }),
        ("white space around a date", { $0.replacingOccurrences(of: "onlineSeit=\"2025-03-01\"", with: "onlineSeit=\" 2025-03-01 \"") }),
        ("an unknown attribute", { $0.replacingOccurrences(of: "<eintrag ozgId=\"10001\"", with: "<eintrag extra=\"1\" ozgId=\"10001\"") }),
        ("a status the schema does not know", { $0.replacingOccurrences(of: "status=\"planned\"", with: "status=\"plan\"") }),
        ("a missing required element", { $0.replacingOccurrences(of: "<zaehlweise>", with: "<x>").replacingOccurrences(of: "</zaehlweise>", with: "</x>") }),
        ("an unclosed element", { $0.replacingOccurrences(of: "</einheit>", with: "") }),
        ("a date that does not exist", { $0.replacingOccurrences(of: "2026-01-31", with: "2026-02-30") }),
        ("a prefixed namespace", {
            $0.replacingOccurrences(of: "xmlns=\"urn", with: "xmlns:r=\"urn").replacingOccurrences(of: "<", with: "<r:")
                .replacingOccurrences(of: "<r:/", with: "</r:").replacingOccurrences(of: "<r:?xml", with: "<?xml")
        }),
    ]

    @Test("documents outside the fast path's form are read by libxml2, with the same rows and messages", arguments: variations)
    func fallBack(_ name: String, _ change: @Sendable (String) -> String) throws {
        let source = try filledSource()
        let text = change(try source.exportXML(try reproducible("08115003", provenance: true)))
        let path = try source.file("report.xml", text)
        #expect(!XMLRecordSource.takesFastPath(path), "\(name)")
        try expectSameReading(path)
    }

    /// Changes that keep a report in the fast path's form but make entries other than the plain case (unknown
    /// keys, a Reifegrad without its model …): the reading stage hands those to the validator's messages.
    static let unusualEntries: [(String, @Sendable (String) -> String)] = [
        ("an OZG-ID the catalogue does not know", { $0.replacingOccurrences(of: "<eintrag ozgId=\"10002\"", with: "<eintrag ozgId=\"99999\"") }),
        ("a region the registry does not know", {
            $0.replacingOccurrences(of: "<einheit regionalschluessel=\"08115003\"", with: "<einheit regionalschluessel=\"08115999\"")
        }),
        ("a Reifegrad without its model", { $0.replacingOccurrences(of: "reifegrad=\"6\" modell=\"2\"", with: "reifegrad=\"6\"") }),
        ("a model without a Reifegrad", { $0.replacingOccurrences(of: "reifegrad=\"6\" modell=\"2\"", with: "modell=\"2\"") }),
        ("a Reifegrad beyond its model", { $0.replacingOccurrences(of: "reifegrad=\"6\" modell=\"2\"", with: "reifegrad=\"6\" modell=\"1\"") }),
        ("an untracked entry with values", {
            $0.replacingOccurrences(of: "<eintrag ozgId=\"10000\" status=\"online\"", with: "<eintrag ozgId=\"10000\"")
        }),
    ]

    @Test(
        "entries the fast path reads that are not the plain case give the same rows, skips and messages as libxml2",
        arguments: unusualEntries, [false, true])
    func unusualEntriesOnTheFastPath(_ change: (String, @Sendable (String) -> String), skipUnknown: Bool) throws {
        let source = try filledSource()
        let original = try source.exportXML(try reproducible("08115003", provenance: true))
        let text = change.1(original)
        #expect(text != original, "\(change.0)")
        let path = try source.file("report.xml", text)
        #expect(XMLRecordSource.takesFastPath(path), "\(change.0)")
        try expectSameReading(path, skipUnknown: skipUnknown)
    }

    @Test("reports read ahead on one thread, which compares a known service list instead of checking it, read as libxml2 reads them")
    func readAhead() throws {
        let source = try filledSource()
        var paths = try reports(from: source)
        // A service list other than the one before it (checked, then remembered) …
        let first = try String(contentsOfFile: paths[1], encoding: .utf8)
        let renamed = first.replacingOccurrences(of: "bezeichnung=\"Elterngeld\"", with: "bezeichnung=\"Elterngeld &amp; mehr\"")
        #expect(renamed != first)
        paths[1] = try source.file("renamed.xml", renamed)
        // … and a report with the usual list that is bad further on: the fast path leaves it to libxml2.
        let last = try String(contentsOfFile: paths[3], encoding: .utf8)
        let bad = last.replacingOccurrences(of: "status=\"in_progress\"", with: "status=\"in_progres\"")
        #expect(bad != last)
        paths[3] = try source.file("bad.xml", bad)
        #expect(paths.map { XMLRecordSource.takesFastPath($0) } == [true, true, true, false])

        let lookAhead = XMLLookAhead(paths: paths)
        for path in paths {
            let ahead = try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn), lookAhead: lookAhead))
            var streamed: (rows: [ImportRow], errors: [InputError]) = ([], [])
            try XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)).forEachRow(
                bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            ) { result in
                switch result {
                case .success(let row): streamed.rows.append(row)
                case .failure(let error): streamed.errors.append(error)
                }
            }
            #expect(ahead.rows == streamed.rows, "\(path)")
            #expect(ahead.errors == streamed.errors, "\(path)")
        }
    }

    /// The look-ahead thread remembers the summary's coverage elements it checked (`abdeckung/leistung`) and
    /// compares the next reports' with them: a changed one is checked again, a bad one refused as before.
    @Test("reports read ahead whose coverage summary repeats, changes or is bad read as libxml2 reads them")
    func readAheadCoverage() throws {
        let source = try filledSource()
        let report = try String(contentsOfFile: try reports(from: source, ["08115001"])[0], encoding: .utf8)
        let coverage = try #require(report.range(of: "<abdeckung>"))
        /// The report with the first `klasse="` of its coverage summary followed by `prefix`.
        func changed(_ prefix: String) throws -> String {
            let place = try #require(report.range(of: "klasse=\"", range: coverage.upperBound..<report.endIndex))
            return report.replacingCharacters(in: place, with: "klasse=\"" + prefix)
        }
        let valid = try changed("")
        #expect(valid == report)
        // The same report twice (the second compared), one whose first coverage is changed in a valid way (checked,
        // then remembered beside the first), the same again (compared), and one whose first coverage is not valid.
        let other = report.replacingOccurrences(of: "anteil=\"100.0\" klasse=\"flaechendeckend\"", with: "anteil=\"100\" klasse=\"flaechendeckend\"")
        let bad = try changed("x")
        #expect(other != report)
        #expect(bad != report)
        let paths = try [report, report, other, other, bad, report].enumerated().map { try source.file("coverage-\($0.offset).xml", $0.element) }
        #expect(paths.map { XMLRecordSource.takesFastPath($0) } == [true, true, true, true, false, true])

        let lookAhead = XMLLookAhead(paths: paths)
        for path in paths {
            let ahead = Result { try readAll(XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn), lookAhead: lookAhead)) }
            let streamed = Result { () throws -> (rows: [ImportRow], errors: [InputError]) in
                var read: (rows: [ImportRow], errors: [InputError]) = ([], [])
                try XMLRecordSource(path: path, validator: RecordValidator(catalogue: builtIn)).forEachRow(
                    bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path)))
                ) { result in
                    switch result {
                    case .success(let row): read.rows.append(row)
                    case .failure(let error): read.errors.append(error)
                    }
                }
                return read
            }
            #expect(try ahead.get().rows == streamed.get().rows, "\(path)")
            #expect(try ahead.get().errors == streamed.get().errors, "\(path)")
        }
        // The bad coverage is reported as libxml2 reports it.
        let errors = try readAll(XMLRecordSource(path: paths[4], validator: RecordValidator(catalogue: builtIn))).errors
        #expect(errors.count == 1)
        #expect(errors.first?.field?.hasSuffix("klasse") == true, "\(errors)")
    }

    @Test("the fixtures and the fuzz corpus read the same with and without the fast path")
    func corpus() throws {
        var paths: [String] = []
        for folder in ["Tests/Fixtures/xml", "Tests/Fuzz/corpus/xml"] {
            let url = packageRoot.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: url.path) where name.hasSuffix(".xml") {
                paths.append(url.appendingPathComponent(name).path)
            }
        }
        #expect(paths.count >= 10)
        for path in paths { try expectSameReading(path) }
    }

    /// Reading `path` as the import does (fast path when it takes the file) gives the same rows, row errors and
    /// refusal as reading its bytes with libxml2.
    private func expectSameReading(_ path: String, skipUnknown: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let validator = RecordValidator(catalogue: builtIn, skipUnknown: skipUnknown)
        let imported = Result { try readAll(XMLRecordSource(path: path, validator: validator)) }
        let streamingValidator = RecordValidator(catalogue: builtIn, skipUnknown: skipUnknown)
        let source = XMLRecordSource(path: path, validator: streamingValidator)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let streamed = Result { () throws -> (rows: [ImportRow], errors: [InputError]) in
            var rows: [ImportRow] = []
            var errors: [InputError] = []
            try source.forEachRow(bytes: bytes) { result in
                switch result {
                case .success(let row): rows.append(row)
                case .failure(let error): errors.append(error)
                }
            }
            return (rows, errors)
        }
        #expect(validator.warnings == streamingValidator.warnings, "\(path)", sourceLocation: sourceLocation)
        switch (imported, streamed) {
        case (.success(let a), .success(let b)):
            #expect(a.rows == b.rows, "\(path)", sourceLocation: sourceLocation)
            #expect(a.errors == b.errors, "\(path)", sourceLocation: sourceLocation)
        case (.failure(let a), .failure(let b)):
            #expect(String(describing: a) == String(describing: b), "\(path)", sourceLocation: sourceLocation)
        default:
            Issue.record("\(path): read as \(imported) by the import, as \(streamed) by libxml2", sourceLocation: sourceLocation)
        }
    }
}

extension XMLTestDatabase {
    /// The dump of every record.
    static func dumpAll(_ db: XMLTestDatabase) throws -> String {
        let sink = StringSink()
        try Dump.write(store: db.store, scope: try RegionScope(nil, in: builtIn.regions), to: sink)
        return sink.text
    }
}
