import Foundation

// The JSON shapes of listings, shared by the command-line tool (`--format json`) and the HTTP service, so that a
// script gets the same document from either.

/// A stored record as scripts see it.
public struct RecordItem: Encodable, Sendable {
    public var region: String
    public var ozgID: String
    public var status: String
    public var statusGerman: String
    public var maturity: Int?
    public var maturityModel: Int?
    public var planned: String?
    public var onlineSince: String?
    public var url: String?
    public var solution: String?
    public var note: String?
    public var updatedAt: String
    public var updatedBy: String
    public var source: String

    public init(_ record: StoredRecord, catalogue: Catalogue) {
        region = record.key.region.description
        ozgID = record.key.service.description
        status = record.values.status.rawValue
        statusGerman = record.values.status.german
        maturity = record.values.maturity
        maturityModel = record.values.maturityModel?.rawValue
        planned = record.values.planned?.description
        onlineSince = record.values.onlineSince?.description
        url = record.values.url
        solution = record.values.solution
        note = record.values.note
        updatedAt = Timestamp.string(record.updatedAt)
        updatedBy = record.updatedBy
        source = record.source
    }
}

/// One unit as listed.
public struct RegionItem: Encodable, Sendable {
    public var key: String
    public var name: String
    public var level: String
    public var kind: String
    public var textCode: Int?
    public var parent: String?
    public var verband: String?
    public var population: Int
    public var areaHectares: Int
    public var ars: String?
    public var postcode: String?

    public init(_ region: Region) {
        key = region.key.description
        name = region.name
        level = region.level.rawValue
        kind = region.kind
        textCode = region.textCode
        parent = region.parent?.description
        verband = region.verband?.description
        population = region.population
        areaHectares = region.areaHectares
        ars = region.ars
        postcode = region.postcode
    }

    /// The columns of the CSV and table listings.
    public static let headers = ["key", "name", "level", "kind", "parent", "ars", "population"]
    /// The cells of the CSV and table listings.
    public var cells: [String] { [key, name, level, kind, parent ?? "", ars ?? "", String(population)] }
}

/// One OZG-Leistung as listed.
public struct ServiceItem: Encodable, Sendable {
    public var ozgID: String
    public var name: String
    public var themenfeld: Int
    public var themenfeldName: String
    public var lebenslage: Int
    public var lebenslageName: String
    public var leikaTypes: [String]
    public var leikaServices: Int
    public var municipal: Bool

    public init(_ service: OZGService, in catalogue: ServiceCatalogue) {
        ozgID = service.id.description
        name = service.name
        themenfeld = service.themenfeld
        themenfeldName = catalogue.themenfeld(service.themenfeld)?.name ?? ""
        lebenslage = service.lebenslage
        lebenslageName = catalogue.lebenslage(service.lebenslage)?.name ?? ""
        leikaTypes = service.typeCodes
        leikaServices = service.leika.count
        municipal = service.isMunicipal
    }
}

/// Every catalogue service with its status in one region (`status --format json`).
public struct StatusListing: Encodable, Sendable {
    /// One service of the listing.
    public struct Row: Encodable, Sendable {
        public var ozgID: String
        public var name: String
        public var themenfeld: Int
        public var municipal: Bool
        public var record: RecordItem?
        public var via: String?
    }

    public var region: RegionItem
    public var asOf: String?
    public var counts: ServiceCounts
    public var services: [Row]

    public init(_ view: StatusView, catalogue: Catalogue) {
        region = RegionItem(view.region)
        asOf = view.asOf.map(Timestamp.string)
        counts = view.counts
        services = view.rows.map {
            Row(
                ozgID: $0.service.id.description, name: $0.service.name, themenfeld: $0.service.themenfeld,
                municipal: $0.service.isMunicipal, record: $0.record.map { RecordItem($0, catalogue: catalogue) },
                via: $0.via?.description)
        }
    }
}

/// One recorded change (`history --format json`).
public struct HistoryItem: Encodable, Sendable {
    /// One field's old and new value.
    public struct FieldChange: Encodable, Sendable {
        public var field: String
        public var old: String?
        public var new: String?
    }
    public var at: String
    public var actor: String
    public var source: String
    public var region: String
    public var ozgID: String
    public var created: Bool
    public var changes: [FieldChange]

    public init(_ change: RecordChange) {
        at = Timestamp.string(change.at)
        actor = change.actor
        source = change.source
        region = change.key.region.description
        ozgID = change.key.service.description
        created = change.old == nil
        changes = change.fields.map { .init(field: $0.rawValue, old: change.old?.text($0), new: change.new.text($0)) }
    }
}

/// One record that changed in a period (`diff --format json`).
public struct DiffItem: Encodable, Sendable {
    public var region: String
    public var ozgID: String
    public var created: Bool
    public var changes: Int
    public var lastChangeAt: String
    public var lastActor: String
    public var lastSource: String
    public var fields: [HistoryItem.FieldChange]

    public init(_ difference: History.Difference) {
        region = difference.key.region.description
        ozgID = difference.key.service.description
        created = difference.old == nil
        changes = difference.changes
        lastChangeAt = Timestamp.string(difference.at)
        lastActor = difference.actor
        lastSource = difference.source
        fields = difference.fields.map { .init(field: $0.rawValue, old: difference.old?.text($0), new: difference.new.text($0)) }
    }
}

/// What `set` did (`set --format json`).
public struct SetResultItem: Encodable, Sendable {
    /// `updated` or `unchanged`.
    public var result: String
    public var created: Bool
    public var dryRun: Bool
    public var region: String
    public var ozgID: String
    public var record: RecordItem?

    public init(result: String, created: Bool, dryRun: Bool, region: String, ozgID: String, record: RecordItem?) {
        self.result = result
        self.created = created
        self.dryRun = dryRun
        self.region = region
        self.ozgID = ozgID
        self.record = record
    }
}
