/// The records a bulk write covers: every selected region with every selected service.
public struct RecordSelection: Sendable, Hashable {
    /// The regions, canonical, distinct, in key order.
    public let regions: [RegionKey]
    /// The services, distinct, in ID order.
    public let services: [OZGID]

    /// A selection of `regions` × `services` (repeats are dropped).
    public init(regions: [RegionKey], services: [OZGID]) {
        self.regions = Array(Set(regions)).sorted()
        self.services = Array(Set(services)).sorted()
    }

    /// The number of records selected.
    public var count: Int { regions.count * services.count }

    /// Every record key selected, in key order (region, then OZG-ID).
    public var keys: [RecordKey] {
        regions.flatMap { region in services.map { RecordKey(region: region, service: $0) } }
    }

    /// Resolves a selection given as text against the loaded catalogue and registry.
    ///
    /// - Parameters:
    ///   - regions: region keys (AGS, ARS, or a Land, Bezirk, Kreis or Verband key).
    ///   - within: a unit whose units at `level` are selected (its Gemeinden, Verbände, Kreise …).
    ///   - level: the level of the units selected within `within`; required with it.
    ///   - services: OZG-IDs.
    ///   - topic: a Themenfeld (number or name) whose services are all selected.
    ///   - catalogue: the catalogue and registry to resolve against.
    /// - Throws: ``InputError`` whose field is `region`, `within`, `level`, `service` or `topic`: a malformed or
    ///   unknown key, a scope with no units of that level, or an empty selection.
    public static func resolve(
        regions: [String], within: String? = nil, level: RegionLevel? = nil, services: [String], topic: String? = nil,
        catalogue: Catalogue
    ) throws(InputError) -> RecordSelection {
        let validator = RecordValidator(catalogue: catalogue)
        var regionKeys: [RegionKey] = []
        for text in regions {
            if let key = try validator.region(text, field: "region") { regionKeys.append(key) }
        }
        if let within {
            guard let level else {
                throw InputError(field: "level", message: "missing: expected the level of the units within \(within.quotedForMessage)")
            }
            let scope: Region
            do {
                scope = try catalogue.regions.resolve(within)
            } catch {
                throw error.inField("within")
            }
            let units = catalogue.regions.descendants(of: scope.key, level: level)
            guard !units.isEmpty else {
                throw InputError(
                    field: "level",
                    message: "\(scope.key) \(scope.name) has no units of level \(level.rawValue): expected a level below "
                        + "\(scope.level.rawValue)")
            }
            regionKeys += units.map(\.key)
        }
        var ids: [OZGID] = []
        for text in services {
            if let id = try validator.service(text, field: "service") { ids.append(id) }
        }
        if let topic {
            let field: Themenfeld
            do {
                field = try catalogue.services.themenfeld(matching: topic)
            } catch {
                throw error.inField("topic")
            }
            ids += catalogue.services.services(inThemenfeld: field.number).map(\.id)
        }
        if regionKeys.isEmpty { throw InputError(field: "region", message: "no region selected: expected at least one") }
        if ids.isEmpty { throw InputError(field: "service", message: "no service selected: expected at least one") }
        return RecordSelection(regions: regionKeys, services: ids)
    }
}

/// What a bulk write did, or would do.
public struct BulkSetOutcome: Sendable, Hashable {
    /// One record that changes.
    public struct Change: Sendable, Hashable {
        public var key: RecordKey
        /// The values before (`nil`: the record is created) and after.
        public var before: RecordValues?
        public var after: RecordValues
        /// The fields whose values change.
        public var fields: [RecordField] { after.changedFields(from: before) }
        /// Whether the record did not exist before.
        public var created: Bool { before == nil }
    }

    /// The records that change, in key order (unchanged ones are only counted).
    public var changes: [Change] = []
    public var created = 0
    public var updated = 0
    /// Records that already hold these values: nothing is written for them.
    public var unchanged = 0
    /// Whether this was a dry run (nothing written).
    public var dryRun = false

    /// The number of records selected.
    public var records: Int { created + updated + unchanged }
}

extension Importer {
    /// Applies one update to every record of `selection` in one transaction, recorded as one history batch:
    /// all records or none. Records that already hold the values are left alone (no history).
    ///
    /// This is what `ozgtrack set` does for several regions or services; a service front end can call it
    /// the same way.
    /// - Throws: ``InputErrors`` listing the records the update cannot apply to (e.g. a new record without a
    ///   status; each message names the region and OZG-ID, the field is the record field) — nothing is written
    ///   then —, or a ``StoreError``.
    public static func set(
        _ selection: RecordSelection, _ update: RecordUpdate, into store: any TrackingStore, batch: BatchInfo,
        dryRun: Bool = false
    ) throws -> BulkSetOutcome {
        func apply(_ reader: any TrackingReader, _ writer: (any TrackingWriter)?) throws -> BulkSetOutcome {
            var outcome = BulkSetOutcome(dryRun: dryRun)
            var errors: [InputError] = []
            var errorCount = 0
            for key in selection.keys {
                let current = try reader.current(key, asOf: nil)
                let values: RecordValues
                do throws(InputError) {
                    values = try update.applied(to: current?.values)
                } catch {
                    errorCount += 1
                    if errors.count < errorLimit {
                        errors.append(
                            InputError(field: error.field, message: "region \(key.region), OZG-ID \(key.service): \(error.message)"))
                    }
                    continue
                }
                if let current, current.values == values {
                    outcome.unchanged += 1
                    continue
                }
                if current == nil { outcome.created += 1 } else { outcome.updated += 1 }
                outcome.changes.append(BulkSetOutcome.Change(key: key, before: current?.values, after: values))
                if errorCount == 0 { try writer?.put(key, values, current: current?.values) }
            }
            if errorCount > 0 { throw InputErrors(errors: errors, total: errorCount) }
            return outcome
        }
        if dryRun { return try store.read { try apply($0, nil) } }
        return try store.write(batch) { try apply($0, $0) }
    }
}
