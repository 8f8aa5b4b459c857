import Foundation
import NIOCore
import OZGCore
import Testing

@testable import PostgresStore

/// The streams of the PostgreSQL backend (reports, `check`, `dump`, `history`, `diff`): every selected version,
/// exactly and in stream order, read through a cursor of one row per region (``RegionRows``).
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct VersionStreamTests {
    /// Gemeinden in four Länder, a Kreis and a Land (above the Gemeinde level), each with `services` services;
    /// every third key has a second version in batch 2, every fifth a third in batch 3.
    static func history(gemeinden: Int, services: Int) throws -> [StoredVersion] {
        var regions: [RegionKey] = [try RegionKey("08"), try RegionKey("08111")]
        for land in ["01", "05", "08", "16"] {
            for number in 0..<(gemeinden / 4) { regions.append(try RegionKey(land + String(format: "%06d", 1_001 + number * 7))) }
        }
        var versions: [StoredVersion] = []
        var counter = 0
        for region in regions {
            for offset in 0..<services {
                let key = RecordKey(region: region, service: OZGID(value: 10_000 + offset * 3)!)
                counter += 1
                versions.append(StoredVersion(key: key, values: values(counter, status: .planned), batch: 1))
                if counter % 3 == 0 { versions.append(StoredVersion(key: key, values: values(counter, status: .inProgress), batch: 2)) }
                if counter % 5 == 0 { versions.append(StoredVersion(key: key, values: values(counter, status: .online), batch: 3)) }
            }
        }
        return versions
    }

    /// Values with every field set or left out, depending on `number`.
    static func values(_ number: Int, status: Status) -> RecordValues {
        RecordValues(
            status: status, maturity: number % 2 == 0 ? number % 5 : nil, maturityModel: number % 3 == 0 ? .v2 : nil,
            planned: number % 4 == 0 ? ISODate("2026-02-28") : nil, onlineSince: number % 7 == 0 ? ISODate("2024-05-01") : nil,
            url: number % 2 == 1 ? "https://example.org/\(number)?a=b&c" : nil, solution: number % 6 == 0 ? "" : "EfA \(number)",
            note: number % 11 == 0 ? "line\nbreak\ttab \\ ä 🇩🇪 \(number)" : nil)
    }

    static func stored(_ versions: [StoredVersion], in test: TestSchema) throws -> PostgresBackend {
        let backend = try test.backend()
        try backend.write { writer in
            for _ in 1...3 { _ = try writer.appendBatch(NewBatch(at: Date(), actor: "test", source: "cli", command: "import")) }
            // Appended in an order other than the stream's.
            try writer.append(Array(versions.reversed()))
        }
        return backend
    }

    static func streamed(_ backend: PostgresBackend, _ selection: VersionSelection, characters: Bool? = nil) throws -> [StoredVersion] {
        try backend.read { reader in
            if let characters { reader.characterLengths = characters }
            let stream = try reader.versions(selection)
            var result: [StoredVersion] = []
            while let version = try stream.next() { result.append(version) }
            return result
        }
    }

    /// The versions a selection must give, in stream order.
    static func expected(_ versions: [StoredVersion], _ selection: VersionSelection) -> [StoredVersion] {
        versions.filter { version in
            let packed = PackedRegionKey(version.key.region)
            switch selection.regions {
            case .all: break
            case .prefix(let prefix): if !version.key.region.description.hasPrefix(prefix) { return false }
            case .exact(let key): if version.key.region != key { return false }
            case .higherLevels: if packed.isGemeinde { return false }
            }
            if let service = selection.service, version.key.service != service { return false }
            if let bound = selection.maxBatch, version.batch > bound { return false }
            return true
        }.sorted { left, right in
            (PackedRegionKey(left.key.region).rawValue, left.key.service.value, left.batch)
                < (PackedRegionKey(right.key.region).rawValue, right.key.service.value, right.batch)
        }
    }

    @Test(
        "a national-size stream crosses pages and regions and gives every version exactly, in stream order",
        arguments: [false, true])
    func everyVersionInOrderAcrossPages(countingCharacters: Bool) throws {
        let test = try TestSchema()
        // 41,000 keys, about 58,000 versions: more than one page of 32,768.
        let versions = try Self.history(gemeinden: 400, services: 100)
        let backend = try Self.stored(versions, in: test)
        let streamed = try Self.streamed(backend, VersionSelection(regions: .all), characters: countingCharacters)
        #expect(streamed.count == versions.count)
        #expect(streamed == Self.expected(versions, VersionSelection(regions: .all)))
    }

    static let someSelections = [
        VersionSelection(regions: .prefix("05")), VersionSelection(regions: .prefix("08111")),
        VersionSelection(regions: .exact(try! RegionKey("08")), maxBatch: 2), VersionSelection(regions: .higherLevels),
        VersionSelection(regions: .all, service: OZGID(value: 10_003)), VersionSelection(regions: .all, maxBatch: 1),
        VersionSelection(regions: .prefix("99")),
    ]

    @Test("a stream gives exactly the selected versions", arguments: someSelections)
    func selections(selection: VersionSelection) throws {
        let test = try TestSchema()
        let versions = try Self.history(gemeinden: 40, services: 20)
        let backend = try Self.stored(versions, in: test)
        #expect(try Self.streamed(backend, selection) == Self.expected(versions, selection))
    }

    @Test(
        "text of any content comes out of a stream as it went in, NULL and empty apart",
        arguments: [
            "tab\there", "line\nbreak", "carriage\rreturn", "back\\slash", "\\N", "\t\n", "", "7\t8", "Ümlaut – ß €", "emoji 🇩🇪",
            "\"quotes\" and 'apostrophes'", "  spaces  ",
        ])
    func textSurvivesAStream(text: String) throws {
        let test = try TestSchema()
        let key = RecordKey(region: try RegionKey("08111000"), service: OZGID(value: 10_000)!)
        let versions = [
            StoredVersion(key: key, values: RecordValues(status: .online, url: text, solution: nil, note: text + text), batch: 1),
            StoredVersion(key: key, values: RecordValues(status: .planned, url: nil, solution: text, note: nil), batch: 2),
        ]
        let backend = try Self.stored(versions, in: test)
        for characters in [false, true] {
            #expect(try Self.streamed(backend, VersionSelection(regions: .all), characters: characters) == versions)
        }
    }
}

/// The parser of a region's text (``RegionRowDecoder``), without a server.
struct RegionRowDecoderTests {
    static let region = PackedRegionKey(try! RegionKey("08111000")).rawValue

    static func decode(_ text: String, characters: Bool = false) throws -> [StoredVersion] {
        var decoder = RegionRowDecoder(countsCharacters: characters)
        var page: [StoredVersion] = []
        _ = try decoder.decode(region: region, text: ByteBuffer(string: text), into: &page)
        return page
    }

    /// The head of a version's text: OZG-ID, batch, status code and null bits as one integer.
    static func head(_ service: Int, batch: Int, status: Int, nulls: Int) -> String {
        String(((batch * 128 + nulls) * 16 + status) * 100_000 + service)
    }

    @Test func aRegionOutOfOrderIsPutInStreamOrder() throws {
        let page = try Self.decode(
            Self.head(10003, batch: 1, status: 0, nulls: 127) + "\n" + Self.head(10000, batch: 2, status: 3, nulls: 127) + "\n"
                + Self.head(10000, batch: 1, status: 1, nulls: 127))
        #expect(page.map { [$0.key.service.value, $0.batch] } == [[10000, 1], [10000, 2], [10003, 1]])
        #expect(page.map(\.values.status) == [.planned, .online, .notStarted])
    }

    @Test func theHeadHoldsServiceBatchStatusAndNulls() throws {
        let page = try Self.decode(Self.head(99999, batch: Int(Int32.max), status: 4, nulls: 127))
        #expect(page.first?.key.service.value == 99999)
        #expect(page.first?.batch == Int(Int32.max))
        #expect(page.first?.values == RecordValues(status: .notApplicable))
    }

    @Test func fieldsLeftOutAsNullAreNil() throws {
        // Null: maturity (1), maturity_model (2), online_since (8), solution (32).
        let page = try Self.decode(Self.head(10000, batch: 4, status: 2, nulls: 43) + "\t20260228\t3\tabc\t0\t")
        let values = try #require(page.first?.values)
        #expect(page.first?.batch == 4)
        #expect(values.status == .inProgress)
        #expect(values.maturity == nil)
        #expect(values.maturityModel == nil)
        #expect(values.planned == ISODate("2026-02-28"))
        #expect(values.onlineSince == nil)
        #expect(values.url == "abc")
        #expect(values.solution == nil)
        #expect(values.note == "")
    }

    @Test func lengthsInCharactersCountUTF8Characters() throws {
        let page = try Self.decode(Self.head(10000, batch: 1, status: 0, nulls: 111) + "\t4\tä\t🇩\n\n", characters: true)
        #expect(page.first?.values.url == "ä\t🇩\n")
    }

    @Test(arguments: [
        "-1", "x", RegionRowDecoderTests.head(10000, batch: 1, status: 0, nulls: 127) + "\t", RegionRowDecoderTests.head(10000, batch: 1, status: 9, nulls: 127),
        RegionRowDecoderTests.head(10000, batch: 1, status: 0, nulls: 0) + "\t1", RegionRowDecoderTests.head(10000, batch: 1, status: 0, nulls: 111) + "\t9\tabc",
        RegionRowDecoderTests.head(10000, batch: 1, status: 0, nulls: 127) + "\n" + "-1",
    ])
    func damagedTextIsAnErrorNamingTheRegion(text: String) throws {
        #expect {
            _ = try Self.decode(text)
        } throws: { error in
            (error as? StoreError)?.message.contains("cannot read (stored region \(Self.region))") == true
        }
    }
}
