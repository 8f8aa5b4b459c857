import Foundation
import Testing

@testable import OZGCore

/// The rules every record store keeps, whatever database it is on. Each test runs against every factory in
/// ``StoreFactories/all``, on a fresh database.
@Suite("Store contract: the rules every backend keeps")
struct StoreContractTests {
    // MARK: Helpers

    static func key(_ region: String, _ service: String = "10000") throws -> RecordKey {
        RecordKey(region: try RegionKey(region), service: try OZGID(service))
    }

    static func values(_ status: Status, note: String? = nil) -> RecordValues { RecordValues(status: status, note: note) }

    static func batch(_ at: String? = nil, actor: String = "test") -> BatchInfo {
        BatchInfo(actor: actor, source: "contract", command: "set", at: at.map(time))
    }

    /// Writes one record in a write of its own; whether a version was recorded.
    @discardableResult
    static func put(
        _ store: any TrackingStore, _ key: RecordKey, _ values: RecordValues, at: String? = nil, actor: String = "test"
    ) throws -> Bool {
        try store.write(batch(at, actor: actor)) { try $0.put(key, values) }
    }

    static func changes(
        _ store: any TrackingStore, prefix: String? = nil, exact: Bool = false, service: OZGID? = nil, from: Date? = nil,
        to: Date? = nil
    ) throws -> [RecordChange] {
        try store.read { reader in
            var result: [RecordChange] = []
            try reader.forEachChange(prefix: prefix, exact: exact, service: service, from: from, to: to) { result.append($0) }
            return result
        }
    }

    static func records(_ store: any TrackingStore, prefix: String? = nil, asOf: Date? = nil) throws -> [StoredRecord] {
        try store.read { reader in
            var result: [StoredRecord] = []
            try reader.forEachRecord(prefix: prefix, asOf: asOf) { record in
                result.append(record)
                return true
            }
            return result
        }
    }

    static func endOfDay(_ day: String) -> Date { (try? Timestamp.parse(day, endOfDay: true)) ?? Date(timeIntervalSince1970: 0) }

    // MARK: Writes

    @Test("setting the values a record already has records nothing (idempotent set)", arguments: StoreFactories.all)
    func idempotentSet(factory: StoreFactory) throws {
        let db = try factory.make()
        let key = try Self.key("08111000")
        #expect(try Self.put(db.store, key, Self.values(.online, note: "a")))
        #expect(try Self.put(db.store, key, Self.values(.online, note: "a")) == false)
        #expect(try Self.changes(db.store).count == 1)
        #expect(try db.store.read { try $0.current(key, asOf: nil) }?.values == Self.values(.online, note: "a"))
    }

    @Test("a write that changes nothing leaves no trace: no batch, no change time", arguments: StoreFactories.all)
    func noOpWriteLeavesNoHistory(factory: StoreFactory) throws {
        let db = try factory.make()
        let key = try Self.key("08111000")
        try Self.put(db.store, key, Self.values(.planned), at: "2025-01-01T00:00:00Z")
        let latest = try db.store.read { try $0.latestChange() }
        try db.store.write(Self.batch("2025-06-01T00:00:00Z")) { (writer) throws -> Void in
            #expect(try writer.put(key, Self.values(.planned)) == false)
            #expect(try writer.put(key, Self.values(.planned), current: Self.values(.planned)) == false)
        }
        try db.store.write(Self.batch("2025-07-01T00:00:00Z")) { _ in }
        #expect(try db.store.read { try $0.latestChange() } == latest)
        #expect(try Self.changes(db.store).count == 1)
    }

    @Test("a record changes at most once per write; its second, different state fails the write", arguments: StoreFactories.all)
    func oneChangePerWrite(factory: StoreFactory) throws {
        let db = try factory.make()
        let key = try Self.key("08111000")
        #expect(throws: StoreError.self) {
            try db.store.write(Self.batch()) { writer in
                try writer.put(key, Self.values(.planned))
                try writer.put(key, Self.values(.online))
            }
        }
        #expect(try db.store.read { try $0.isEmpty() })
        // The same state twice is no change the second time.
        try db.store.write(Self.batch()) { (writer) throws -> Void in
            #expect(try writer.put(key, Self.values(.planned)))
            #expect(try writer.put(key, Self.values(.planned)) == false)
        }
        #expect(try Self.changes(db.store).count == 1)
    }

    @Test("a write that throws leaves nothing behind, however much it wrote", arguments: StoreFactories.all)
    func allOrNothing(factory: StoreFactory) throws {
        struct Abort: Error {}
        let db = try factory.make()
        try Self.put(db.store, Self.key("08111000"), Self.values(.planned), at: "2025-01-01T00:00:00Z")
        let before = try Self.records(db.store)
        let latest = try db.store.read { try $0.latestChange() }
        #expect(throws: Abort.self) {
            try db.store.write(Self.batch("2025-02-01T00:00:00Z")) { writer in
                // More than one bulk of versions, and a change to an existing record.
                for service in 0..<10_000 { try writer.put(Self.key("08111001", String(format: "%05d", service)), Self.values(.online)) }
                try writer.put(Self.key("08111000"), Self.values(.online))
                throw Abort()
            }
        }
        #expect(try Self.records(db.store) == before)
        #expect(try db.store.read { try $0.latestChange() } == latest)
        #expect(try Self.changes(db.store).count == 1)
    }

    @Test("reads inside a write see what it wrote", arguments: StoreFactories.all)
    func writerReadsItsOwnWrites(factory: StoreFactory) throws {
        let db = try factory.make()
        try db.store.write(Self.batch()) { (writer) throws -> Void in
            for service in 0..<5_000 { try writer.put(Self.key("08111000", String(format: "%05d", service)), Self.values(.online)) }
            #expect(try writer.current(Self.key("08111000", "04999"), asOf: nil)?.values.status == .online)
            #expect(try writer.isEmpty() == false)
            var count = 0
            try writer.forEachRecord(prefix: "08", asOf: nil) { _ in
                count += 1
                return true
            }
            #expect(count == 5_000)
        }
    }

    // MARK: The batch clock

    @Test("a requested time earlier than the latest change is refused: history is only appended to", arguments: StoreFactories.all)
    func batchClockRefusesEarlierTime(factory: StoreFactory) throws {
        let db = try factory.make()
        try Self.put(db.store, Self.key("08111000"), Self.values(.planned), at: "2025-05-01T00:00:00Z")
        #expect(throws: InputError.self) {
            try Self.put(db.store, Self.key("08111000", "10001"), Self.values(.planned), at: "2025-04-30T23:59:59Z")
        }
        #expect(try Self.changes(db.store).count == 1)
        // The same time is not earlier.
        #expect(try Self.put(db.store, Self.key("08111000", "10001"), Self.values(.planned), at: "2025-05-01T00:00:00Z"))
    }

    @Test("a write without a time is recorded now, but never earlier than the latest change", arguments: StoreFactories.all)
    func batchClockNeverGoesBack(factory: StoreFactory) throws {
        let db = try factory.make()
        let future = Date().addingTimeInterval(3_600)
        try db.store.write(BatchInfo(actor: "test", source: "contract", command: "set", at: future)) { writer in
            try writer.put(Self.key("08111000"), Self.values(.planned))
        }
        try Self.put(db.store, Self.key("08111000", "10001"), Self.values(.online))
        let changes = try Self.changes(db.store)
        #expect(changes.count == 2)
        #expect(changes.allSatisfy { BatchTimeline.milliseconds($0.at) == BatchTimeline.milliseconds(future) })
    }

    @Test("batch times have whole milliseconds", arguments: StoreFactories.all)
    func batchTimesHaveMilliseconds(factory: StoreFactory) throws {
        let db = try factory.make()
        let at = Date(timeIntervalSince1970: 1_750_000_000.123_456)
        try db.store.write(BatchInfo(actor: "test", source: "contract", command: "set", at: at)) { writer in
            try writer.put(Self.key("08111000"), Self.values(.planned))
        }
        #expect(try db.store.read { try $0.latestChange() } == Date(timeIntervalSince1970: 1_750_000_000.123))
    }

    @Test("who, when and from where are kept with every change", arguments: StoreFactories.all)
    func provenance(factory: StoreFactory) throws {
        let db = try factory.make()
        try Self.put(db.store, Self.key("08111000"), Self.values(.planned), at: "2025-01-10T09:00:00Z", actor: "anna")
        let record = try db.store.read { try $0.current(Self.key("08111000"), asOf: nil) }
        #expect(record?.updatedBy == "anna")
        #expect(record?.source == "contract")
        #expect(record?.updatedAt == time("2025-01-10T09:00:00Z"))
    }

    // MARK: Reading the past

    @Test(
        "as-of reads give the state at the end of a day",
        arguments: StoreFactories.all,
        [("2025-03-01", nil), ("2025-03-02", Status.planned), ("2025-03-03", .online), ("2025-12-31", .notApplicable)]
    )
    func asOfDayEnds(factory: StoreFactory, example: (day: String, expected: Status?)) throws {
        let (day, expected) = example
        let db = try factory.make()
        let key = try Self.key("08111000")
        try Self.put(db.store, key, Self.values(.planned), at: "2025-03-02T00:00:00Z")
        try db.store.write(BatchInfo(actor: "t", source: "c", command: "set", at: Self.endOfDay("2025-03-02"))) { writer in
            try writer.put(Self.key("08111000", "10001"), Self.values(.planned))
        }
        try Self.put(db.store, key, Self.values(.online), at: "2025-03-03T00:00:00Z")
        try Self.put(db.store, key, Self.values(.notApplicable), at: "2025-07-01T12:00:00Z")
        let asOf = Self.endOfDay(day)
        #expect(try db.store.read { try $0.current(key, asOf: asOf) }?.values.status == expected)
        let records = try Self.records(db.store, prefix: "08111000", asOf: asOf)
        #expect(records.first { $0.key == key }?.values.status == expected)
    }

    @Test("a range read gives the newest version of each key under the prefix, in key order", arguments: StoreFactories.all)
    func prefixReads(factory: StoreFactory) throws {
        let db = try factory.make()
        // `02` looks like it starts with `02000` once padded; `021` does not start with `020`.
        let regions = ["02", "020", "02000", "020000001", "02000000", "021", "03", "01"]
        for region in regions { try Self.put(db.store, Self.key(region), Self.values(.planned)) }
        try Self.put(db.store, Self.key("02000000"), Self.values(.online))
        let read = try Self.records(db.store, prefix: "020")
        #expect(read.map(\.key.region.description) == ["020", "02000", "02000000", "020000001"])
        #expect(read.first { $0.key.region.description == "02000000" }?.values.status == .online)
        #expect(try Self.records(db.store).map(\.key.region.description) == regions.sorted())
        #expect(try Self.records(db.store, prefix: "02000").map(\.key.region.description) == ["02000", "02000000", "020000001"])
    }

    @Test("a cursor's versions and provenance give the same records as its whole records", arguments: StoreFactories.all)
    func cursorVersions(factory: StoreFactory) throws {
        let db = try factory.make()
        try Self.put(db.store, Self.key("08111000"), Self.values(.planned), at: "2025-01-01T00:00:00Z", actor: "a")
        try Self.put(db.store, Self.key("08111001"), Self.values(.online), at: "2025-02-01T00:00:00Z", actor: "b")
        try db.store.read { reader in
            let whole = try reader.records(prefix: nil, asOf: nil)
            let versions = try reader.records(prefix: nil, asOf: nil)
            while let record = try whole.next() {
                let version = try #require(try versions.nextVersion())
                let batch = try #require(versions.provenance[version.batch])
                #expect(version.key == record.key)
                #expect(version.values == record.values)
                #expect(batch.at == record.updatedAt)
                #expect(batch.actor == record.updatedBy)
            }
            #expect(try versions.nextVersion() == nil)
        }
    }

    @Test("records above the Gemeinde level are read for counting, at the as-of time", arguments: StoreFactories.all)
    func higherLevelRecords(factory: StoreFactory) throws {
        let db = try factory.make()
        for region in ["08", "081", "08111", "081115001", "08111000", "08111001"] {
            try Self.put(db.store, Self.key(region), Self.values(.online), at: "2025-01-01T00:00:00Z")
        }
        try Self.put(db.store, Self.key("08111"), Self.values(.planned), at: "2025-02-01T00:00:00Z")
        func higher(_ asOf: Date?) throws -> [String] {
            try db.store.read { reader in
                var result: [String] = []
                try reader.forEachHigherLevelRecord(asOf: asOf) { result.append("\($0.key.region) \($0.values.status.rawValue)") }
                return result
            }
        }
        #expect(try higher(nil) == ["08 online", "081 online", "08111 planned", "081115001 online"])
        #expect(try higher(Self.endOfDay("2025-01-15")) == ["08 online", "081 online", "08111 online", "081115001 online"])
        #expect(try higher(Self.endOfDay("2024-12-31")) == [])
    }

    // MARK: Changes

    @Test("a change carries the values before it, also when those are older than the period asked for", arguments: StoreFactories.all)
    func diffPairing(factory: StoreFactory) throws {
        let db = try factory.make()
        let key = try Self.key("08111000")
        try Self.put(db.store, key, Self.values(.planned), at: "2025-01-01T00:00:00Z")
        try Self.put(db.store, Self.key("08111001"), Self.values(.planned), at: "2025-01-02T00:00:00Z")
        try Self.put(db.store, key, Self.values(.inProgress), at: "2025-02-01T00:00:00Z")
        try Self.put(db.store, key, Self.values(.online), at: "2025-03-01T00:00:00Z")
        let all = try Self.changes(db.store)
        #expect(all.map(\.key.region.description) == ["08111000", "08111000", "08111000", "08111001"])
        #expect(all.map(\.old?.status) == [nil, .planned, .inProgress, nil])
        #expect(all.map(\.new.status) == [.planned, .inProgress, .online, .planned])
        let recent = try Self.changes(db.store, from: time("2025-03-01T00:00:00Z"))
        #expect(recent.count == 1)
        #expect(recent.first?.old?.status == .inProgress)
        #expect(recent.first?.new.status == .online)
    }

    @Test(
        "a change lies in a period when its time does: both ends included, to the millisecond",
        arguments: StoreFactories.all,
        [
            ("2025-02-01T00:00:00Z", "2025-02-01T00:00:00Z", 1), ("2025-02-01T00:00:00.001Z", nil, 0),
            (nil, "2025-01-31T23:59:59.999Z", 0), ("2025-01-31T23:59:59.999Z", "2025-02-01T00:00:00.001Z", 1),
        ] as [(String?, String?, Int)]
    )
    func diffBounds(factory: StoreFactory, example: (from: String?, to: String?, expected: Int)) throws {
        let (from, to, expected) = example
        let db = try factory.make()
        try Self.put(db.store, Self.key("08111000"), Self.values(.planned), at: "2025-02-01T00:00:00Z")
        let found = try Self.changes(
            db.store, from: from.map(Self.precise), to: to.map(Self.precise))
        #expect(found.count == expected)
    }

    /// A time with milliseconds (`time(_:)` keeps whole seconds).
    static func precise(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? time(text)
    }

    @Test("changes can be asked for one region exactly, or one service", arguments: StoreFactories.all)
    func diffSelection(factory: StoreFactory) throws {
        let db = try factory.make()
        for region in ["08111", "08111000", "081115001"] {
            try Self.put(db.store, Self.key(region), Self.values(.planned))
            try Self.put(db.store, Self.key(region, "10001"), Self.values(.planned))
        }
        #expect(try Self.changes(db.store, prefix: "08111", exact: true).map(\.key.region.description) == ["08111", "08111"])
        #expect(try Self.changes(db.store, prefix: "08111").count == 6)
        #expect(try Self.changes(db.store, prefix: "08111", service: OZGID("10001")).count == 3)
    }

    // MARK: Concurrency

    @Test("writers on separate handles, at the same time: every write lands and history is complete", arguments: StoreFactories.all)
    func concurrentWriters(factory: StoreFactory) throws {
        let db = try factory.make()
        let writers = 4
        let writes = 25
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            do {
                let store = try db.openHandle()
                for write in 0..<writes {
                    let key = try Self.key(String(format: "08111%03d", writer), String(format: "%05d", write))
                    try store.write(Self.batch(actor: "writer \(writer)")) { try $0.put(key, Self.values(.online)) }
                    // Every writer also changes one shared record, from its own previous state.
                    try store.write(Self.batch(actor: "writer \(writer)")) { transaction in
                        let shared = try Self.key("08111999")
                        let count = Int(try transaction.current(shared, asOf: nil)?.values.note ?? "0") ?? 0
                        try transaction.put(shared, Self.values(.online, note: String(count + 1)))
                    }
                }
            } catch {
                failures.add(error)
            }
        }
        #expect(failures.errors.isEmpty, "\(failures.errors)")
        let records = try Self.records(db.store)
        #expect(records.count == writers * writes + 1)
        #expect(records.last?.values.note == String(writers * writes))
        let changes = try Self.changes(db.store)
        #expect(changes.count == 2 * writers * writes)
        let sharedKey = try Self.key("08111999")
        let shared = changes.filter { $0.key == sharedKey }
        #expect(shared.map(\.new.note) == (1...(writers * writes)).map { String($0) })
        #expect(zip(shared, shared.dropFirst()).allSatisfy { $0.at <= $1.at })
    }
}

/// Errors collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [any Error] = []

    func add(_ error: any Error) {
        lock.lock()
        collected.append(error)
        lock.unlock()
    }

    var errors: [any Error] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
