import Foundation

/// Rows of the open-data export of the federal "Dashboard Digitale Verwaltung" (the PVOG data behind it).
///
/// The export has one row per LeiKa service and region (`leika_key`, `leika_name`, `ars`, `ars_name`,
/// `ars_federal_state`, `bundesland`, `leika_bezeichnung`, `ozgid`, `ozg_bezeichnung`, `url`, `online_status`,
/// `aktiv`, `art_flaechendeckung`; the newer Open-PVOG export adds `begruendung_nicht_beruecksichtigt`,
/// `datenstand_pvog_import` and `export_datum`), as CSV (`,` or `;`) or as JSON pages `{"content": [...]}` (one
/// page, or an array of pages). Other columns are ignored. Several files read by one source are combined as one
/// export (a Land's rows sent again with every Gemeinde's export — `includeAbove` — are then one record).
///
/// **Rows become records.** ozgtrack records per region and OZG-Leistung; the export has rows per region and
/// LeiKa service, repeats identical rows, and may have several rows (several online services, several URLs)
/// for one region and LeiKa key. The rules, in this order:
///
/// 1. Identical rows (every column the same) are one row: merged silently, counted in the summary.
/// 2. The OZG-ID is the `ozgid` column; where it is empty, the one the catalogue maps the `leika_key` to. When
///    both are given and disagree, the row is refused naming both. A row with an empty `ozgid` whose LeiKa key
///    the catalogue does not know (or maps to no OZG-Leistung) is skipped; the summary lists those keys with
///    their names and row counts.
/// 3. All rows of one region and OZG-ID — of one LeiKa key or of several LeiKa keys of that OZG-Leistung —
///    form one record. Each row is ranked: **active with a working link** (`aktiv = ja`, `online_status = ok`,
///    an absolute http(s) URL) before **active** (link check `nicht ok`) before **inactive**. The best row
///    decides: `online` with its URL, `in_progress` (registered, not reachable), or — only inactive rows —
///    nothing (the record is left unchanged and listed as a warning). Ties are broken by the smaller LeiKa key
///    (the general service `…000000` before its specialisations), then by the smaller URL (byte order), so the
///    choice does not depend on the order of the rows. Records whose rows carry more than one URL are listed
///    in the summary with the URL chosen.
///
/// Maturity, dates, solution and note are not in the export and stay as stored. The ARS may be that of a
/// Gemeinde or, zero-padded, of a Land, Bezirk, Kreis or Gemeindeverband (`080000000000` is Land 08,
/// `081155001000` Verband 081155001). `art_flaechendeckung` (the dashboard's claim) is compared in the summary
/// with the coverage computed from the imported records (see ``DashboardSummary``);
/// `datenstand_pvog_import` (the date of the PVOG data) and `export_datum` are reported as the source dates;
/// ``sourceDates()`` reads the former ahead, so that the import's source can name it.
public struct DashboardSource: RecordSource, ImportSummaryContributor {
    public let file: String
    let inputs: [InputSource]
    let validator: RecordValidator
    let delimiter: CSVDelimiter?
    /// Filled while the rows are read; handed to the summary afterwards.
    private let report = DashboardReport()

    /// A source reading the export at `path` (no name is special: standard input is
    /// ``InputSource/standardInput``).
    public init(path: String, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.init(inputs: [.file(path)], validator: validator, delimiter: delimiter)
    }

    /// A source reading one export.
    public init(input: InputSource, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.init(inputs: [input], validator: validator, delimiter: delimiter)
    }

    /// A source reading the exports at `paths` as one (see ``init(inputs:validator:delimiter:)``).
    public init(paths: [String], validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.init(inputs: paths.map(InputSource.file), validator: validator, delimiter: delimiter)
    }

    /// A source reading several exports as one: rows of the same region and OZG-ID in different files are
    /// combined by the same rules as rows of one file.
    public init(inputs: [InputSource], validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.inputs = inputs
        self.file = inputs.map(\.name).joined(separator: ", ")
        self.validator = validator
        self.delimiter = delimiter
    }

    /// The columns of the export that ozgtrack reads (others are ignored).
    public static let fields = [
        "leika_key", "leika_name", "ars", "ars_name", "ars_federal_state", "bundesland", "leika_bezeichnung", "ozgid",
        "ozg_bezeichnung", "url", "online_status", "aktiv", "art_flaechendeckung", "begruendung_nicht_beruecksichtigt",
        "datenstand_pvog_import", "export_datum",
    ]
    static let required = ["leika_key", "ars", "ozgid", "url", "online_status", "aktiv"]

    /// The columns of ``fields``, by position.
    enum Column: Int, CaseIterable {
        case leikaKey, leikaName, ars, arsName, arsFederalState, bundesland, leikaBezeichnung, ozgid, ozgBezeichnung, url
        case onlineStatus, aktiv, artFlaechendeckung, begruendung, datenstand, exportDatum
    }

    /// One dashboard row, as text ("" for a column the export lacks).
    struct Row {
        var file: String
        var line: Int
        /// The values of ``fields``, by position.
        var values: [String]
        subscript(_ column: Column) -> String { values[column.rawValue] }
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        var state = State(catalogue: validator.catalogue)
        for input in inputs {
            try InputFile.withBytes(input) { bytes in try read(bytes, file: input.name, into: &state, body) }
        }
        try finish(state, body)
    }

    /// The rows of an export's bytes; also the entry point for fuzzing.
    package func forEachRow(bytes: UnsafeRawBufferPointer, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        var state = State(catalogue: validator.catalogue)
        try read(bytes, file: file, into: &state, body)
        try finish(state, body)
    }

    /// The distinct `datenstand_pvog_import` dates of the exports (`YYYY-MM-DD`, sorted), read ahead of the
    /// import so that its source can name them: the CLI records a dashboard import with the source
    /// `FILE (Datenstand PVOG DATE)`, which the history and reports show for every record it writes. Standard
    /// input cannot be read twice and is left out; values that are no dates are left out here (the import
    /// refuses them).
    public func sourceDates() -> [String] {
        var dates: Set<String> = []
        for input in inputs where input != .standardInput {
            try? InputFile.withBytes(input) { bytes in
                try readRows(bytes, file: input.name, only: [.datenstand]) { row in
                    if let date = Self.sourceDate(row[.datenstand]) { dates.insert(date.description) }
                }
            }
        }
        return dates.sorted()
    }

    public func contribute(to summary: inout ImportSummary) {
        guard let dashboard = report.summary else { return }
        summary.skipped += dashboard.skippedRows
        summary.dashboard = dashboard
    }

    // MARK: - Reading

    /// What is known while the rows of an import are read.
    struct State {
        let leika: LeiKaIndex
        var signatures: Set<Signature> = []
        var groups: [RecordKey: Group] = [:]
        var order: [RecordKey] = []
        var summary = DashboardSummary()
        var unknown: [String: DashboardSummary.LeiKaEntry] = [:]
        var unassigned: [String: DashboardSummary.LeiKaEntry] = [:]
        var claims: [ClaimKey: Int] = [:]
        var claimRows: [CoverageClaim: Int] = [:]
        var sourceDates: Set<String> = []
        var exportDates: Set<String> = []

        init(catalogue: Catalogue) { leika = LeiKaIndex(catalogue.services) }
    }

    /// A row's identity for finding identical repeats: two independent 64-bit hashes of every column, so that a
    /// national export of millions of rows is checked without keeping its text (a collision of both is
    /// astronomically unlikely).
    struct Signature: Hashable {
        var first: Int
        var second: Int

        init(_ row: Row) {
            var first = Hasher()
            var second = Hasher()
            first.combine(0x5EED as UInt16)
            second.combine(0xD15C as UInt16)
            for value in row.values {
                first.combine(value)
                second.combine(value)
            }
            self.first = first.finalize()
            self.second = second.finalize()
        }
    }

    /// One candidate row of a record.
    struct Candidate: Comparable {
        /// 0: active with a working link, 1: active, 2: inactive.
        var rank: Int
        var leika: String
        var url: String
        var file: String
        var line: Int

        static func < (lhs: Candidate, rhs: Candidate) -> Bool {
            (lhs.rank, lhs.leika, lhs.url) < (rhs.rank, rhs.leika, rhs.url)
        }
    }

    /// The rows of one region and OZG-ID.
    struct Group {
        var first: (file: String, line: Int)
        var best: Candidate
        var rows = 1
        var urls: Set<String> = []
    }

    /// A claim of the dashboard about one OZG-Leistung in one area.
    struct ClaimKey: Hashable {
        var claim: CoverageClaim
        /// The area the claim covers; `nil` for the whole country.
        var area: RegionKey?
        var service: OZGID
    }

    private func read(
        _ bytes: UnsafeRawBufferPointer, file: String, into state: inout State,
        _ body: (Result<ImportRow, InputError>) throws -> Void
    ) throws {
        if !state.summary.files.contains(file) { state.summary.files.append(file) }
        try readRows(bytes, file: file) { row in
            do throws(InputError) {
                try add(row, to: &state)
            } catch {
                try body(.failure(error.located(file: row.file, line: row.line)))
            }
        }
    }

    private func add(_ row: Row, to state: inout State) throws(InputError) {
        state.summary.rowsRead += 1
        guard state.signatures.insert(Signature(row)).inserted else {
            state.summary.identicalRowsMerged += 1
            return
        }
        let leika = row[.leikaKey]
        if !leika.isEmpty {
            do {
                _ = try LeiKaKey(leika)
            } catch {
                throw error.inField("leika_key")
            }
        }
        let status = row[.onlineStatus].lowercased()
        guard status == "ok" || status == "nicht ok" else {
            throw InputError(field: "online_status", message: "\(row[.onlineStatus].quotedForMessage): expected ok or nicht ok")
        }
        let active = row[.aktiv].lowercased()
        guard ["ja", "nein", "", "null"].contains(active) else {
            throw InputError(field: "aktiv", message: "\(row[.aktiv].quotedForMessage): expected ja, nein or empty")
        }
        for (column, field) in [(Column.datenstand, "datenstand_pvog_import"), (.exportDatum, "export_datum")] {
            let text = row[column]
            guard !text.isEmpty, text != "null" else { continue }
            guard let date = Self.sourceDate(text) else {
                throw InputError(
                    field: field,
                    message: "\(text.quotedForMessage) is not a date: expected YYYY-MM-DD, an ISO 8601 time or DD.MM.YYYY")
            }
            if column == .exportDatum { state.exportDates.insert(date.description) } else { state.sourceDates.insert(date.description) }
        }
        let ars = row[.ars]
        if ars.isEmpty { throw InputError(field: "ars", message: "missing: expected a 12-digit ARS") }
        do {
            _ = try ARS(ars)
        } catch {
            throw error.inField("ars")
        }
        guard let region = try validator.region(ars, field: "ars") else {
            validator.skip("\(row.file):\(row.line): ARS \(ars.quotedForMessage) is not in the registry: skipped")
            return
        }
        guard let service = try service(of: row, leika: leika, state: &state) else { return }
        var rank = 2
        var url = ""
        if active == "ja" {
            rank = 1
            if status == "ok" {
                let text = row[.url]
                if text.isEmpty { throw InputError(field: "url", message: "missing for an active service: expected its URL") }
                url = try validator.url(text) ?? text
                rank = 0
            }
        }
        let candidate = Candidate(rank: rank, leika: leika, url: url, file: row.file, line: row.line)
        let key = RecordKey(region: region, service: service)
        if var group = state.groups[key] {
            group.rows += 1
            if candidate < group.best { group.best = candidate }
            if !url.isEmpty { group.urls.insert(url) }
            state.groups[key] = group
        } else {
            var group = Group(first: (row.file, row.line), best: candidate)
            if !url.isEmpty { group.urls.insert(url) }
            state.groups[key] = group
            state.order.append(key)
        }
        let claim = CoverageClaim(row[.artFlaechendeckung])
        state.claimRows[claim, default: 0] += 1
        if claim.isEvaluated {
            state.claims[ClaimKey(claim: claim, area: claim.area(of: region), service: service), default: 0] += 1
        }
    }

    /// The OZG-ID of a row: given, or resolved from its LeiKa key; `nil` when skipped.
    private func service(of row: Row, leika: String, state: inout State) throws(InputError) -> OZGID? {
        var text = row[.ozgid]
        if text == "null" { text = "" }
        let mapped = leika.isEmpty ? nil : state.leika.entries[leika]
        if text.isEmpty {
            let name = row[.leikaName].isEmpty ? row[.leikaBezeichnung] : row[.leikaName]
            guard let mapped else {
                state.unknown[leika, default: .init(key: leika, name: name, rows: 0)].rows += 1
                state.summary.skippedRows += 1
                return nil
            }
            guard let id = mapped.ozgID else {
                state.unassigned[leika, default: .init(key: leika, name: mapped.name, rows: 0)].rows += 1
                state.summary.skippedRows += 1
                return nil
            }
            state.summary.resolvedFromLeiKa += 1
            return id
        }
        let padded = Digits.all(text) && text.count < 5 ? String(repeating: "0", count: 5 - text.count) + text : text
        guard let service = try validator.service(padded, field: "ozgid") else {
            validator.skip("\(row.file):\(row.line): OZG-ID \(text.quotedForMessage) is not in the catalogue: skipped")
            return nil
        }
        if let mapped, let expected = mapped.ozgID, expected != service {
            let name = validator.catalogue.services.service(expected)?.name ?? ""
            throw InputError(
                field: "ozgid",
                message: "'\(service)' disagrees with the catalogue (\(validator.catalogue.services.edition.date)), which maps "
                    + "leika_key \(leika) (\(mapped.name)) to OZG-ID \(expected) (\(name)): expected \(expected) or empty")
        }
        return service
    }

    private func finish(_ state: State, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        var summary = state.summary
        var online: [OZGID: Set<String>] = [:]
        for key in state.order {
            guard let group = state.groups[key] else { continue }
            let best = group.best
            var update = RecordUpdate()
            switch best.rank {
            case 0:
                update.status = .online
                update.url = best.url
                online[key.service, default: []].insert(key.region.description)
            case 1:
                update.status = .inProgress
            default:
                validator.skip(
                    "\(group.first.file):\(group.first.line): region \(key.region), OZG-ID \(key.service) is not active in the "
                        + "dashboard: left unchanged")
                continue
            }
            summary.records += 1
            if group.rows > 1 { summary.combinedRecords += 1 }
            if group.urls.count > 1 {
                summary.choiceCount += 1
                if summary.choices.count < DashboardSummary.listLimit {
                    summary.choices.append(
                        .init(
                            region: key.region.description, ozgID: key.service.description, rows: group.rows,
                            urls: group.urls.count, status: update.status?.rawValue ?? "", url: update.url,
                            leikaKey: best.leika, file: best.file, line: best.line))
                }
            }
            try body(.success(ImportRow(file: best.file, line: best.line, key: key, update: update)))
        }
        summary.unknownLeiKa = state.unknown.values.sorted { $0.key < $1.key }
        summary.unassignedLeiKa = state.unassigned.values.sorted { $0.key < $1.key }
        summary.sourceDates = state.sourceDates.sorted()
        summary.exportDates = state.exportDates.sorted()
        summary.claims = Self.compare(state, online: online, catalogue: validator.catalogue, into: &summary)
        report.summary = summary
    }

    // MARK: - Claims against computed coverage

    /// Compares each claim of the dashboard with the coverage computed from the imported records: in how many
    /// Gemeinden of the claimed area the OZG-Leistung is online, by a record of the Gemeinde or of a unit above
    /// it (Gemeindeverband, Kreis, Bezirk, Land).
    static func compare(
        _ state: State, online: [OZGID: Set<String>], catalogue: Catalogue, into summary: inout DashboardSummary
    ) -> [DashboardSummary.ClaimComparison] {
        let registry = catalogue.regions
        // Per area: its Gemeinden, each with the keys of the units whose records count for it (itself, its
        // Verband, Kreis, Bezirk and Land).
        var cache: [String: [[String]]] = [:]
        func gemeinden(_ area: RegionKey?) -> [[String]] {
            let name = area?.description ?? ""
            if let known = cache[name] { return known }
            let units: [Region]
            if let area, let unit = registry.region(area), unit.level == .gemeinde || unit.level == .gemeindefrei {
                units = [unit]
            } else {
                units = registry.descendants(of: area, level: .gemeinde)
            }
            let found = units.map { unit in
                let key = unit.key.description
                return [key, String(key.prefix(2)), String(key.prefix(3)), String(key.prefix(5))]
                    + (unit.verband.map { [$0.description] } ?? [])
            }
            cache[name] = found
            return found
        }
        var rows: [CoverageClaim: DashboardSummary.ClaimComparison] = [:]
        for (claim, count) in state.claimRows {
            rows[claim] = .init(claim: claim.identifier, label: claim.label, evaluated: claim.isEvaluated, rows: count)
        }
        for (claim, _) in state.claims.sorted(by: { Self.order($0.key, $1.key) }) {
            let units = gemeinden(claim.area)
            let keys = online[claim.service] ?? []
            var covered = 0
            if !keys.isEmpty {
                for unit in units where unit.contains(where: keys.contains) { covered += 1 }
            }
            let computed: CoverageClass = units.isEmpty || covered == 0 ? .keine : covered == units.count ? .flaechendeckend : .mindestensEine
            var row = rows[claim.claim] ?? .init(claim: claim.claim.identifier, label: claim.claim.label, evaluated: true, rows: 0)
            row.areas += 1
            switch computed {
            case .flaechendeckend: row.computedComplete += 1
            case .mindestensEine: row.computedPartial += 1
            case .keine: row.computedNone += 1
            }
            rows[claim.claim] = row
            if claim.claim.claimsCoverage && computed != .flaechendeckend {
                summary.contradictionCount += 1
                if summary.contradictions.count < DashboardSummary.listLimit {
                    let name = claim.area.flatMap { registry.region($0)?.name } ?? "Deutschland"
                    summary.contradictions.append(
                        .init(
                            claim: claim.claim.identifier, label: claim.claim.label, area: claim.area?.description ?? "",
                            areaName: name,
                            ozgID: claim.service.description, service: catalogue.services.service(claim.service)?.name ?? "",
                            gemeinden: units.count, online: covered, computed: computed.rawValue))
                }
            }
        }
        return rows.values.sorted { $0.order < $1.order || ($0.order == $1.order && $0.label < $1.label) }
    }

    private static func order(_ lhs: ClaimKey, _ rhs: ClaimKey) -> Bool {
        let left = (lhs.claim.sortOrder, lhs.area?.description ?? "", lhs.service.value)
        let right = (rhs.claim.sortOrder, rhs.area?.description ?? "", rhs.service.value)
        return left < right
    }

    /// A source date: `YYYY-MM-DD`, an ISO 8601 time starting with one, or `DD.MM.YYYY`.
    static func sourceDate(_ text: String) -> ISODate? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = ISODate(trimmed.prefix(10)), trimmed.count == 10 || "T ".contains(Array(trimmed)[10]) { return date }
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 3, parts[0].count == 2, parts[1].count == 2, parts[2].count == 4 {
            return ISODate("\(parts[2])-\(parts[1])-\(parts[0])")
        }
        return nil
    }

    // MARK: - Formats

    /// Reads the rows of one export; `only` limits the columns read (the others stay empty).
    private func readRows(
        _ bytes: UnsafeRawBufferPointer, file: String, only: Set<Column>? = nil, _ body: (Row) throws -> Void
    ) throws {
        var start = 0
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == 0x7B || bytes[start] == 0x5B {
            try readJSON(bytes, file: file, only: only, body)
        } else {
            try readCSV(bytes, file: file, only: only, body)
        }
    }

    private func readCSV(
        _ bytes: UnsafeRawBufferPointer, file: String, only: Set<Column>?, _ body: (Row) throws -> Void
    ) throws {
        let table = try CSVTable(bytes: bytes, file: file, required: Self.required, delimiter: delimiter)
        let columns = Column.allCases.compactMap { column in
            only.map { $0.contains(column) } == false ? nil : table.index(Self.fields[column.rawValue]).map { (column.rawValue, $0) }
        }
        let empty = [String](repeating: "", count: Self.fields.count)
        while try table.next() {
            var values = empty
            for (position, index) in columns { values[position] = try table.text(at: index) }
            try body(Row(file: file, line: table.line, values: values))
        }
    }

    private func readJSON(
        _ bytes: UnsafeRawBufferPointer, file: String, only: Set<Column>?, _ body: (Row) throws -> Void
    ) throws {
        let document = try parseJSON(bytes, file: file)
        let located = JSONLineLocator.objectLines(bytes)
        var rows: [Any] = []
        var lines: [Int] = []
        if let page = document as? [String: Any], let content = page["content"] as? [Any] {
            rows = content
            lines = located["content"] ?? []
        } else if let pages = document as? [Any], pages.allSatisfy({ ($0 as? [String: Any])?["content"] is [Any] }) {
            rows = pages.flatMap { (($0 as? [String: Any])?["content"] as? [Any]) ?? [] }
            lines = located["content"] ?? []
        } else if let array = document as? [Any] {
            rows = array
            lines = located[""] ?? []
        } else {
            throw InputError(file: file, line: 1, message: "expected a dashboard page {\"content\": [...]} or an array of pages")
        }
        for (index, element) in rows.enumerated() {
            let line = index < lines.count ? lines[index] : index + 1
            guard let object = element as? [String: Any] else {
                throw InputError(file: file, line: line, message: "entry \(index + 1) is not an object: expected a dashboard row")
            }
            var values = [String](repeating: "", count: Self.fields.count)
            for column in Column.allCases where only?.contains(column) ?? true {
                let name = Self.fields[column.rawValue]
                do throws(InputError) {
                    values[column.rawValue] = try jsonText(object[name], field: name)
                } catch {
                    throw error.located(file: file, line: line)
                }
            }
            for name in Self.required where object[name] == nil {
                throw InputError(file: file, line: line, field: name, message: "missing: expected the dashboard's field \(name)")
            }
            try body(Row(file: file, line: line, values: values))
        }
    }
}

/// Where the summary of a dashboard import waits between reading and the end of the import.
///
/// `@unchecked Sendable`: written only by the import's reading stage, read after that stage has finished.
final class DashboardReport: @unchecked Sendable {
    var summary: DashboardSummary?
}

/// The catalogue's LeiKa keys with the OZG-Leistung each belongs to.
struct LeiKaIndex {
    struct Entry {
        var name: String
        var ozgID: OZGID?
    }
    let entries: [String: Entry]

    init(_ catalogue: ServiceCatalogue) {
        var entries: [String: Entry] = [:]
        for service in catalogue.services {
            for leika in service.leika {
                if let key = leika.key { entries[key.description] = Entry(name: leika.name, ozgID: leika.ozgID ?? service.id) }
            }
        }
        for leika in catalogue.unassignedLeiKa {
            if let key = leika.key, entries[key.description] == nil { entries[key.description] = Entry(name: leika.name, ozgID: nil) }
        }
        self.entries = entries
    }
}
