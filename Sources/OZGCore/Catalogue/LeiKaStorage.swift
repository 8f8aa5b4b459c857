import Synchronization

/// The LeiKa services of the built-in packed service catalogue (see ``PackedCatalogue``), decoded only when a
/// caller first asks for one.
///
/// Why: decoding the 5,249 LeiKa services into values was most of what loading the packed service catalogue
/// cost — about 3 ms of CPU at every start (`perf record` of `ozgtrack status`, release build) — while `status`,
/// `set`, `regions` and reports need only the 557 OZG-Leistungen with their IDs, names and whether they concern
/// municipalities (read at load from the LeiKa types, without building the services). `catalogue show`,
/// `catalogue services`, the dashboard import and equality decode them, all at once, the first time.
final class LeiKaStorage: Sendable {
    /// The decoded services: those of each OZG-Leistung by its position in the packed file, and the unassigned.
    final class Decoded: Sendable {
        let services: [[LeiKaService]]
        let unassigned: [LeiKaService]

        init(services: [[LeiKaService]], unassigned: [LeiKaService]) {
            self.services = services
            self.unassigned = unassigned
        }
    }

    /// A run of LeiKa lines in the packed text: where the first starts, its line number, how many follow.
    struct Run: Sendable {
        let start: Int
        let line: Int
        let count: Int
    }

    /// The packed text and where each run of LeiKa lines is. `@unchecked Sendable`: `bytes` points into a
    /// string literal compiled into the library, immutable for the process.
    struct Table: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
        let file: String
        /// The LeiKa lines of each OZG-Leistung, in the order of the packed file.
        let services: [Run]
        let unassigned: Run
    }

    private let table: Table
    /// The decoded services once there are any: read without a lock on every access (an acquiring load is a
    /// plain load on x86 and ARM64), built under `building` once — as ``RegionStorage`` does.
    private let published = Atomic<Unmanaged<Decoded>?>(nil)
    private let building = Mutex<Void>(())

    init(_ table: Table) { self.table = table }

    deinit { published.load(ordering: .acquiring)?.release() }

    /// Whether the services are decoded already.
    var isDecoded: Bool { published.load(ordering: .acquiring) != nil }

    /// The decoded services, decoding them now if needed.
    var decoded: Decoded {
        if let ready = published.load(ordering: .acquiring) { return ready.takeUnretainedValue() }
        return building.withLock { _ in
            if let ready = published.load(ordering: .acquiring) { return ready.takeUnretainedValue() }
            let decoded = decodeAll()
            published.store(Unmanaged.passRetained(decoded), ordering: .releasing)
            return decoded
        }
    }

    private func decodeAll() -> Decoded {
        var types: [String: LeiKaType] = [:]
        func decode(_ run: Run, tag: String) -> [LeiKaService] {
            var result: [LeiKaService] = []
            result.reserveCapacity(run.count)
            var offset = run.start
            for number in 0..<run.count {
                let (fields, next) = PackedReader.fields(table.bytes, at: offset)
                // The packed text is compiled into the library, its lines were checked at load (tag, type) and
                // `PackedCatalogueTests` prove it equal to the plain files: a line that does not decode is a build
                // defect, not input.
                guard let service = Self.service(fields, tag: tag, types: &types) else {
                    preconditionFailure(
                        "\(table.file), line \(run.line + number): expected a LeiKa service: rebuild after scripts/pack-catalogue.sh")
                }
                result.append(service)
                offset = next
            }
            return result
        }
        return Decoded(services: table.services.map { decode($0, tag: "K") }, unassigned: decode(table.unassigned, tag: "U"))
    }

    /// The LeiKa service of a packed line's fields, `nil` when they do not hold one.
    static func service(_ fields: [String], tag: String, types: inout [String: LeiKaType]) -> LeiKaService? {
        guard fields.count == 10, fields[0] == tag else { return nil }
        do throws(InputError) {
            let raw = fields[4]
            let type: LeiKaType
            if let known = types[raw] {
                type = known
            } else {
                type = try LeiKaType(raw: raw)
                types[raw] = type
            }
            return LeiKaService(
                key: fields[1].isEmpty ? nil : try LeiKaKey(fields[1]), name: fields[2],
                ozgID: fields[3].isEmpty ? nil : try OZGID(fields[3]), type: type, legalBasis: fields[5],
                laws: fields[6], lawAbbreviation: fields[7], sdg1: fields[8] == "1", sdg2: fields[9] == "1")
        } catch {
            return nil
        }
    }
}
