import Foundation

/// A record source that adds its own findings to the import's summary once all its rows are read.
public protocol ImportSummaryContributor {
    /// Adds what the source found (called after every row was read, before the summary is returned).
    func contribute(to summary: inout ImportSummary)
}

/// What a dashboard import found beside the records: merged and combined rows, the URL chosen where there were
/// several, LeiKa keys that could not be mapped, the source dates, and the dashboard's own coverage claims
/// (`art_flaechendeckung`) next to the coverage ozgtrack computes from the imported records.
///
/// **Computed coverage.** For each OZG-Leistung and area the dashboard claims (`bundesweit`: the country,
/// `landesweit`: the Land of the row's ARS, `kreisweit`: its Kreis, `flächendeckend` and `nicht flächendeckend`:
/// the row's own region), ozgtrack counts the Gemeinden of that area where the imported records make the service
/// online — a record of the Gemeinde itself or of a unit above it (Gemeindeverband, Kreis, Bezirk, Land), as in
/// reports — and classifies the area like the report's coverage: `flaechendeckend` (every Gemeinde),
/// `mindestens_eine`, `keine`. Only the imported rows count, not what the database held before, so the
/// comparison is the same for a dry run.
public struct DashboardSummary: Sendable, Hashable, Encodable {
    /// How many entries the lists keep (the counts are always complete).
    public static let listLimit = 1_000

    /// The files read, as named.
    public var files: [String] = []
    /// Rows read, repeats included.
    public var rowsRead = 0
    /// Rows identical to an earlier row in every column, merged into it.
    public var identicalRowsMerged = 0
    /// Rows without `ozgid` whose OZG-ID was taken from the catalogue by their LeiKa key.
    public var resolvedFromLeiKa = 0
    /// Rows skipped because their LeiKa key could not be mapped (listed in ``unknownLeiKa`` and
    /// ``unassignedLeiKa``).
    public var skippedRows = 0
    /// Records formed (regions × OZG-IDs with at least one active row).
    public var records = 0
    /// Records formed from more than one row (several URLs, or several LeiKa services of one OZG-Leistung).
    public var combinedRecords = 0
    /// Records whose rows carry more than one URL: one was chosen (the first ``listLimit`` are in ``choices``).
    public var choiceCount = 0
    public var choices: [Choice] = []
    /// LeiKa keys of rows without `ozgid` that the catalogue does not know, with their names and row counts.
    public var unknownLeiKa: [LeiKaEntry] = []
    /// LeiKa keys of rows without `ozgid` that the catalogue knows but maps to no OZG-Leistung.
    public var unassignedLeiKa: [LeiKaEntry] = []
    /// The distinct `datenstand_pvog_import` dates (the date of the PVOG data the records describe).
    public var sourceDates: [String] = []
    /// The distinct `export_datum` dates.
    public var exportDates: [String] = []
    /// Per `art_flaechendeckung` value: what the dashboard claims and what ozgtrack computes.
    public var claims: [ClaimComparison] = []
    /// Areas claimed `flächendeckend` where the imported records are not online in every Gemeinde (the first
    /// ``listLimit`` are in ``contradictions``).
    public var contradictionCount = 0
    public var contradictions: [Contradiction] = []

    public init() {}

    /// A LeiKa key that could not be mapped to an OZG-ID.
    public struct LeiKaEntry: Sendable, Hashable, Encodable {
        public var key: String
        public var name: String
        public var rows: Int
    }

    /// The URL chosen for a record whose rows carry several.
    public struct Choice: Sendable, Hashable, Encodable {
        public var region: String
        public var ozgID: String
        /// Rows combined into the record.
        public var rows: Int
        /// Distinct URLs among them.
        public var urls: Int
        /// The record's status (`online` or `in_progress`).
        public var status: String
        /// The URL chosen (none when no row is online).
        public var url: String?
        /// The LeiKa key of the row that decided.
        public var leikaKey: String
        /// Where that row is.
        public var file: String
        public var line: Int
    }

    /// One value of `art_flaechendeckung`: rows that carry it, and for the claimed areas × OZG-Leistungen how
    /// ozgtrack classifies them.
    public struct ClaimComparison: Sendable, Hashable, Encodable {
        /// A stable identifier: `bundesweit_flaechendeckend`, `landesweit_flaechendeckend`,
        /// `kreisweit_flaechendeckend`, `flaechendeckend`, `nicht_flaechendeckend`, `keine_angabe` or `sonstige`.
        public var claim: String
        /// The value as people read it (for `sonstige`, the text of the export).
        public var label: String
        /// Whether ozgtrack compares the claim (not for an empty or an unrecognised value).
        public var evaluated: Bool
        public var rows: Int
        /// Distinct areas × OZG-Leistungen claimed.
        public var areas = 0
        /// Of those, how many ozgtrack computes as `flaechendeckend`, `mindestens_eine` and `keine`.
        public var computedComplete = 0
        public var computedPartial = 0
        public var computedNone = 0

        var order: Int { CoverageClaim.order(ofIdentifier: claim) }
    }

    /// An area claimed `flächendeckend` that the imported records do not cover completely.
    public struct Contradiction: Sendable, Hashable, Encodable {
        /// The claim's identifier and label (see ``ClaimComparison``).
        public var claim: String
        public var label: String
        /// The area's key (empty: the whole country) and name.
        public var area: String
        public var areaName: String
        public var ozgID: String
        public var service: String
        /// Gemeinden in the area, and those where the service is online.
        public var gemeinden: Int
        public var online: Int
        /// `mindestens_eine` or `keine`.
        public var computed: String
    }
}

/// A value of the dashboard's `art_flaechendeckung`.
///
/// Recognised (case-insensitive, `ä` or `ae`): `bundesweit flächendeckend`, `landesweit flächendeckend`,
/// `kreisweit flächendeckend`, `flächendeckend`, `nicht flächendeckend`, and empty (`null`). Any other value is
/// kept verbatim and reported, but not compared.
public enum CoverageClaim: Hashable, Sendable {
    case nationwide, statewide, districtwide, regionwide, notCovering, none
    case other(String)

    public init(_ text: String) {
        let folded = text.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "ä", with: "ae")
            .replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: "-", with: " ")
        switch folded {
        case "", "null": self = .none
        case "bundesweit flaechendeckend": self = .nationwide
        case "landesweit flaechendeckend": self = .statewide
        case "kreisweit flaechendeckend": self = .districtwide
        case "flaechendeckend": self = .regionwide
        case "nicht flaechendeckend": self = .notCovering
        default: self = .other(text)
        }
    }

    /// The stable identifier used in JSON.
    public var identifier: String {
        switch self {
        case .nationwide: "bundesweit_flaechendeckend"
        case .statewide: "landesweit_flaechendeckend"
        case .districtwide: "kreisweit_flaechendeckend"
        case .regionwide: "flaechendeckend"
        case .notCovering: "nicht_flaechendeckend"
        case .none: "keine_angabe"
        case .other: "sonstige"
        }
    }

    /// The value as people read it.
    public var label: String {
        switch self {
        case .nationwide: "bundesweit flächendeckend"
        case .statewide: "landesweit flächendeckend"
        case .districtwide: "kreisweit flächendeckend"
        case .regionwide: "flächendeckend"
        case .notCovering: "nicht flächendeckend"
        case .none: "(keine Angabe)"
        case .other(let text): text
        }
    }

    /// Whether ozgtrack compares the claim with the imported records.
    var isEvaluated: Bool {
        switch self {
        case .none, .other: false
        default: true
        }
    }

    /// Whether the value claims that the service is online everywhere in its area.
    var claimsCoverage: Bool {
        switch self {
        case .nationwide, .statewide, .districtwide, .regionwide: true
        default: false
        }
    }

    /// The area the claim is about for a row of `region`; `nil` for the whole country.
    func area(of region: RegionKey) -> RegionKey? {
        let key = region.description
        switch self {
        case .nationwide: return nil
        case .statewide: return RegionKey(canonical: String(key.prefix(2)))
        case .districtwide: return key.utf8.count >= 5 ? RegionKey(canonical: String(key.prefix(5))) : region
        default: return region
        }
    }

    var sortOrder: Int { Self.order(ofIdentifier: identifier) }

    static func order(ofIdentifier identifier: String) -> Int {
        [
            "bundesweit_flaechendeckend", "landesweit_flaechendeckend", "kreisweit_flaechendeckend", "flaechendeckend",
            "nicht_flaechendeckend", "sonstige", "keine_angabe",
        ].firstIndex(of: identifier) ?? 99
    }
}
