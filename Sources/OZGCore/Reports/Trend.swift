import Foundation

/// The online shares of a report's scope at each month's end over its recorded history (``Report/trend()``).
///
/// A point shows exactly what a report `--as-of` that instant would count in its `overall` summary: the same
/// reporting units and services (filter applied), *own* and *including higher level* (a service a unit above a
/// Gemeinde — Verband, Kreis, Bezirk, Land — records as online counts for the Gemeinde unless the Gemeinde's own
/// record says `not_applicable`), shares over the relevant services.
///
/// The points run from the month of the earliest change that matters to the scope (a record of a reporting unit
/// for a service passing the filter, or a record of a unit above one of them) to the bound: the report's
/// `--as-of`, or else the later of the latest change and the creation time. Each point is taken at the end of its
/// month (the first instant of the next month, as `--as-of` with the month's last day gives it); the last one at
/// the bound when that comes earlier. Empty when nothing was ever recorded for the scope.
public struct ReportTrend: Sendable, Encodable, Hashable {
    /// The state at the end of one month.
    public struct Point: Sendable, Encodable, Hashable {
        /// The day at whose end the state is taken: the month's last day, or the day of the bound.
        public var date: ISODate
        /// Reporting units × services, minus those recorded as `not_applicable`.
        public var relevant: Int
        /// Online by the units' own records.
        public var online: Int
        /// Online by their own records or through a unit above.
        public var onlineIncludingHigherLevel: Int

        public init(date: ISODate, relevant: Int, online: Int, onlineIncludingHigherLevel: Int) {
            self.date = date
            self.relevant = relevant
            self.online = online
            self.onlineIncludingHigherLevel = onlineIncludingHigherLevel
        }

        /// `online / relevant` in percent, rounded to one decimal.
        public var shareOnline: Double { ServiceCounts.percent(online, relevant) }
        /// `onlineIncludingHigherLevel / relevant` in percent, rounded to one decimal.
        public var shareOnlineIncludingHigherLevel: Double { ServiceCounts.percent(onlineIncludingHigherLevel, relevant) }

        private enum CodingKeys: String, CodingKey {
            case date, relevant, online, onlineIncludingHigherLevel, shareOnline, shareOnlineIncludingHigherLevel
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(date, forKey: .date)
            try container.encode(relevant, forKey: .relevant)
            try container.encode(online, forKey: .online)
            try container.encode(onlineIncludingHigherLevel, forKey: .onlineIncludingHigherLevel)
            try container.encode(shareOnline, forKey: .shareOnline)
            try container.encode(shareOnlineIncludingHigherLevel, forKey: .shareOnlineIncludingHigherLevel)
        }
    }

    /// One point per month, oldest first.
    public var points: [Point]

    public init(points: [Point]) { self.points = points }
}

extension Report {
    /// The online shares at each month's end over the recorded history of the scope (see ``ReportTrend``).
    ///
    /// After a complete pass started with ``rows(withTrend:)`` (`true`), the trend that pass counted from the
    /// versions its cursor read anyway; otherwise one pass over the store's changes in scope (plus the changes of
    /// the few units above it that have records), counted incrementally: never a report per month. Call it while
    /// the report's snapshot is open (inside ``Report/with(_:catalogue:store:_:)``).
    public func trend() throws -> ReportTrend {
        if let counted = countedTrend() { return counted }
        guard var builder = try TrendBuilder(report: self) else { return ReportTrend(points: []) }
        try builder.scanChanges()
        return builder.result()
    }
}

/// Counts a report's trend from the versions the report's own cursor reads (every version of every key in
/// scope, of which the cursor hands on the newest): the trend then costs no second pass over the store.
///
/// Measured (`perf record`, release builds, national scale): the second pass over the change stream was about a
/// fifth of the HTML report's CPU time on the history database (`forEachChange` 17 %, the counting itself 3 %) and
/// 10.6 % of the JSON report's on the national one, run alone after the rows; nearly all of it decoded the stored
/// versions again. With the counting in the pass the national HTML report took 0.71× the CSV report of the same
/// history database (docs/performance.md). Reading that stream concurrently on a second connection
/// would still decode every version twice on a machine whose two cores the pass already keeps busy (the row
/// producer and the formatting thread); counting inside the pass adds only the counting, on the producing
/// thread. Set up (the higher-level records read) on the caller's thread before the cursor opens; fed on the
/// producing thread; read after it stopped.
final class TrendCounter {
    private var builder: TrendBuilder
    /// The month index of each batch id (-1: a batch the store lost, whose versions a change stream skips too).
    private var monthOfBatch: [Int32] = []
    private var monthByID: [Int: Int32] = [:]

    /// `nil` when the report's bound leaves no trend to count (nothing recorded, no `--as-of`).
    init?(report: Report) throws {
        guard let builder = try TrendBuilder(report: report) else { return nil }
        self.builder = builder
    }

    /// Takes the batches of the cursor's snapshot (``RecordCursor/provenance``), before the first version.
    func start(batches: [Int: BatchRow]) {
        // Batch ids are dense (one per write): an array lookup per version; a dictionary if they were not.
        let maxID = max(0, batches.keys.max() ?? 0)
        if maxID <= 4 * batches.count + 1_024 {
            var months = [Int32](repeating: -1, count: maxID + 1)
            for (id, batch) in batches where id >= 0 { months[id] = Int32(builder.monthIndex(batch.at)) }
            monthOfBatch = months
        } else {
            monthByID = batches.mapValues { Int32(builder.monthIndex($0.at)) }
        }
    }

    /// Counts one version read by the cursor (in key order and, per key, in batch order).
    func add(_ version: StoredVersion) {
        let batch = version.batch
        guard batch > 0 else { return }  // as the change stream, which reads batches after 0
        let month: Int32
        if batch >= 0 && batch < monthOfBatch.count {
            month = monthOfBatch[batch]
        } else {
            month = monthByID[batch] ?? -1
        }
        guard month >= 0 else { return }
        guard let pair = builder.pair(region: version.key.region.description, service: version.key.service.value) else { return }
        builder.record(pair, status: version.values.status, month: Int(month))
    }

    /// The trend of everything added.
    func result() -> ReportTrend { builder.result() }
}

/// Months as consecutive integers (year × 12 + month − 1) and the UTC calendar arithmetic the trend needs,
/// without `Calendar` (which is far too slow for millions of changes).
enum MonthArithmetic {
    /// The milliseconds since 1970 of `date` (the store's resolution).
    static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The civil date of a day number (days since 1970-01-01), after Howard Hinnant's `civil_from_days`.
    static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shifted + 2) / 5 + 1
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The day number of a civil date, after Howard Hinnant's `days_from_civil`.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The day (number) that ends at or after `milliseconds`: an instant that is exactly a midnight belongs to the
    /// day before it, as `--as-of DAY` means the first instant of the next day.
    static func day(endingAt milliseconds: Int) -> Int {
        let before = milliseconds - 1
        return before >= 0 ? before / 86_400_000 : (before - 86_399_999) / 86_400_000
    }

    /// The month whose end-of-month point an instant first counts in (exactly midnight on the 1st: the month before).
    static func month(endingAt milliseconds: Int) -> Int {
        let date = civil(day(endingAt: milliseconds))
        return date.year * 12 + date.month - 1
    }

    /// The first instant after the month (the instant its point is taken at), in milliseconds.
    static func end(ofMonth month: Int) -> Int {
        let next = month + 1
        return days(year: next / 12, month: next % 12 + 1, day: 1) * 86_400_000
    }

    /// The day at whose end `milliseconds` lies (see ``day(endingAt:)``), as a date.
    static func date(endingAt milliseconds: Int) -> ISODate? {
        let date = civil(day(endingAt: milliseconds))
        return ISODate(packed: date.year * 10_000 + date.month * 100 + date.day)
    }
}

/// Builds a ``ReportTrend`` from the change stream with per-month difference arrays.
///
/// For a reporting unit *g* and a service *s*, let *own(m)* be its own status at month end *m* and *A(m)* whether
/// a unit above *g* records *s* as online then. The report counts *online* = [own = online], *relevant* =
/// [own ≠ not_applicable], *including higher level* = [own = online] + A·[own ∉ {online, not_applicable}].
/// Summed over all pairs, the last term is Σ A − Σ A·[own ∈ {online, not_applicable}]: the first sum depends only
/// on the chain of units above (so it is counted once per chain and multiplied by its Gemeinden, untracked pairs
/// included), the second only over pairs that have records. Every quantity is a step function of the month, so it
/// is added as +n at the month a step starts and −n where it ends; one prefix sum at the end gives every point.
/// The higher-level records are read first (few units; their history is small), then the scope's changes once,
/// key by key.
struct TrendBuilder {
    private let report: Report
    private let bound: Date
    private let boundMilliseconds: Int
    /// The month of the bound, and the first month the arrays cover (200 years before it).
    private let lastMonth: Int
    private let base: Int
    private var count: Int { lastMonth - base + 1 }
    /// Per month (index from `base`): differences of own online, not_applicable, and of the higher-level term.
    private var online: [Int]
    private var notApplicable: [Int]
    private var higher: [Int]
    /// The earliest month (index) with a change that matters.
    private var first = Int.max
    private var lastAt: (milliseconds: Int, month: Int) = (Int.min, 0)
    /// The services passing the filter (position by OZG-ID value, -1 when left out) and the reporting units by key.
    private var filtered: [Int32] = []
    private var unitIndex: [String: Int] = [:]
    /// Per reporting unit its chain of providers above (-1: none); per chain and service the months online.
    private var chainOf: [Int] = []
    private var chains: [[Int32: [Range<Int>]]] = []
    /// The pair whose changes are being gathered, and its line so far; the last region seen and its unit.
    private var pending: (unit: Int, service: Int32)?
    private var line: [Step] = []
    private var lastRegion = ""
    private var lastUnit = -1

    /// A step of a status line: from month `month` on, the state is `state`.
    struct Step {
        var month: Int
        var state: UInt8
    }
    static let none: UInt8 = 0
    static let isOnline: UInt8 = 1
    static let isNotApplicable: UInt8 = 2
    static let other: UInt8 = 3

    private init(report: Report, bound: Date) {
        self.report = report
        self.bound = bound
        boundMilliseconds = MonthArithmetic.milliseconds(bound)
        lastMonth = MonthArithmetic.month(endingAt: boundMilliseconds)
        base = lastMonth - 2_399
        online = [Int](repeating: 0, count: 2_401)
        notApplicable = online
        higher = online
    }

    /// The month index (from `base`) of a change at `date`.
    private mutating func index(_ date: Date) -> Int {
        let milliseconds = MonthArithmetic.milliseconds(date)
        if milliseconds == lastAt.milliseconds { return lastAt.month }
        let month = max(0, min(count - 1, MonthArithmetic.month(endingAt: milliseconds) - base))
        lastAt = (milliseconds, month)
        first = min(first, month)
        return month
    }

    /// Appends a step, replacing one of the same month (the later change wins) and dropping repeats.
    private static func append(_ step: Step, to line: inout [Step]) {
        if let last = line.last, last.month == step.month {
            line.removeLast()
        }
        if let last = line.last, last.state == step.state { return }
        line.append(step)
    }

    /// The months (half-open index ranges) in which `line` is in one of `states`.
    private func segments(_ line: [Step], where matches: (UInt8) -> Bool) -> [Range<Int>] {
        var result: [Range<Int>] = []
        for (offset, step) in line.enumerated() where matches(step.state) {
            let end = offset + 1 < line.count ? line[offset + 1].month : count
            if step.month < end { result.append(step.month..<end) }
        }
        return result
    }

    /// The months in which any of `lines` is online (an OR of step lines).
    private func union(_ lines: [[Step]]) -> [Range<Int>] {
        let ranges = lines.flatMap { segments($0) { $0 == Self.isOnline } }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for range in ranges {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    private static func add(_ value: Int, over range: Range<Int>, to differences: inout [Int]) {
        differences[range.lowerBound] += value
        differences[range.upperBound] -= value
    }

    /// Prepares the counting: the bound (`nil` when there is none: nothing recorded and no `--as-of`), the
    /// services and units of the report, and the online lines of the units above its units (read from the store
    /// now, before the scope's versions come).
    init?(report: Report) throws {
        var bound = report.query.asOf
        if bound == nil, let latest = try report.reader.latestChange() { bound = max(latest, report.header.createdAt) }
        guard let bound else { return nil }
        self.init(report: report, bound: bound)
        try prepare()
    }

    /// The month index of a change at `date` (without noting it as the first month that matters).
    func monthIndex(_ date: Date) -> Int {
        max(0, min(count - 1, MonthArithmetic.month(endingAt: MonthArithmetic.milliseconds(date)) - base))
    }

    private mutating func prepare() throws {
        let reader = report.reader
        let registry = report.catalogue.regions
        let units = report.scope.reportingUnits
        let to: Date? = report.query.asOf
        // The services passing the filter, by OZG-ID value.
        filtered = [Int32](repeating: -1, count: 100_000)
        for (position, entry) in report.services.enumerated() { filtered[entry.service.id.value] = Int32(position) }
        unitIndex.reserveCapacity(units.count)
        for (position, unit) in units.enumerated() { unitIndex[unit.key.description] = position }

        // The units above the reporting units, and which of them have records.
        var candidates: [String: Int] = [:]
        var above: [[Int]] = []
        above.reserveCapacity(units.count)
        for unit in units {
            above.append(
                registry.ancestors(of: unit.key).map { ancestor in
                    let key = ancestor.key.description
                    if let known = candidates[key] { return known }
                    candidates[key] = candidates.count
                    return candidates.count - 1
                })
        }
        var recorded = Set<String>()
        if !candidates.isEmpty {
            try reader.forEachHigherLevelRecord(asOf: bound) { record in
                let key = record.key.region.description
                if candidates[key] != nil { recorded.insert(key) }
            }
        }
        // Their online lines per filtered service (only lines that are ever online are kept).
        var providerLines: [Int: [Int32: [Step]]] = [:]
        for key in recorded.sorted() {
            var lines: [Int32: [Step]] = [:]
            try reader.forEachChange(prefix: key, exact: true, service: nil, from: nil, to: to) { change in
                let service = filtered[change.key.service.value]
                guard service >= 0 else { return }
                let step = Step(month: index(change.at), state: change.new.status == .online ? Self.isOnline : Self.other)
                Self.append(step, to: &lines[service, default: []])
            }
            lines = lines.filter { $0.value.contains { $0.state == Self.isOnline } }
            if let position = candidates[key], !lines.isEmpty { providerLines[position] = lines }
        }

        // Chains of providers; per chain and service the months online somewhere above; Σ A counted per chain.
        chainOf = [Int](repeating: -1, count: units.count)
        var chainIDs: [[Int]: Int] = [:]
        var chainUnits: [Int] = []
        if !providerLines.isEmpty {
            for position in units.indices {
                let providers = above[position].filter { providerLines[$0] != nil }
                guard !providers.isEmpty else { continue }
                if let id = chainIDs[providers] {
                    chainOf[position] = id
                    chainUnits[id] += 1
                    continue
                }
                var services = Set<Int32>()
                for provider in providers { services.formUnion(providerLines[provider]?.keys ?? [:].keys) }
                var merged: [Int32: [Range<Int>]] = [:]
                for service in services {
                    merged[service] = union(providers.compactMap { providerLines[$0]?[service] })
                }
                chainIDs[providers] = chains.count
                chainOf[position] = chains.count
                chains.append(merged)
                chainUnits.append(1)
            }
            for (id, merged) in chains.enumerated() {
                for ranges in merged.values {
                    for range in ranges { Self.add(chainUnits[id], over: range, to: &higher) }
                }
            }
        }
    }

    /// Counts the scope's changes from the store's change stream (a pass of its own).
    mutating func scanChanges() throws {
        try report.reader.forEachChange(prefix: report.scope.prefix, exact: false, service: nil, from: nil, to: report.query.asOf) {
            change in
            guard let pair = pair(region: change.key.region.description, service: change.key.service.value) else { return }
            record(pair, status: change.new.status, month: index(change.at))
        }
    }

    /// The positions of the reporting unit and the service of a change, or `nil` when the change does not
    /// matter to the report (another unit, a service the filter leaves out).
    mutating func pair(region: String, service: Int) -> (unit: Int, service: Int32)? {
        if region != lastRegion {
            lastRegion = region
            lastUnit = unitIndex[region] ?? -1
        }
        guard lastUnit >= 0 else { return nil }
        let position = filtered[service]
        guard position >= 0 else { return nil }
        return (lastUnit, position)
    }

    /// Adds one change of a pair that matters: from month `month` on, its status is `status`. Changes come in
    /// key order and, per key, in time order.
    mutating func record(_ pair: (unit: Int, service: Int32), status: Status, month: Int) {
        first = min(first, month)
        if let current = pending, current.unit != pair.unit || current.service != pair.service {
            flush(line, unit: current.unit, service: current.service)
            line.removeAll(keepingCapacity: true)
        }
        pending = pair
        let state: UInt8 =
            switch status {
            case .online: Self.isOnline
            case .notApplicable: Self.isNotApplicable
            default: Self.other
            }
        Self.append(Step(month: month, state: state), to: &line)
    }

    /// The trend of everything recorded (the pending pair's line is counted now).
    mutating func result() -> ReportTrend {
        if let current = pending {
            flush(line, unit: current.unit, service: current.service)
            line.removeAll(keepingCapacity: true)
            pending = nil
        }
        return points(total: report.scope.reportingUnits.count * report.services.count)
    }

    /// Adds one pair's own line (and its correction of the higher-level term).
    ///
    /// Walks the line's steps in place (no arrays of segments: this runs once per pair, six million times in a
    /// national report, and the three arrays it used to build were most of the counting's cost).
    private mutating func flush(_ line: [Step], unit: Int, service: Int32) {
        let chain = chainOf[unit]
        let above = chain >= 0 ? chains[chain][service] : nil
        for offset in line.indices {
            let state = line[offset].state
            guard state == Self.isOnline || state == Self.isNotApplicable else { continue }
            let start = line[offset].month
            let end = offset + 1 < line.count ? line[offset + 1].month : count
            guard start < end else { continue }
            if state == Self.isOnline {
                Self.add(1, over: start..<end, to: &online)
            } else {
                Self.add(1, over: start..<end, to: &notApplicable)
            }
            guard let above else { continue }
            for range in above {
                let low = max(start, range.lowerBound)
                let high = min(end, range.upperBound)
                if low < high { Self.add(-1, over: low..<high, to: &higher) }
            }
        }
    }

    private func points(total: Int) -> ReportTrend {
        guard first < count else { return ReportTrend(points: []) }
        var result: [ReportTrend.Point] = []
        result.reserveCapacity(count - first)
        var onlineSum = 0
        var notApplicableSum = 0
        var higherSum = 0
        for month in 0..<count {
            onlineSum += online[month]
            notApplicableSum += notApplicable[month]
            higherSum += higher[month]
            guard month >= first else { continue }
            let end = min(MonthArithmetic.end(ofMonth: base + month), month == count - 1 ? boundMilliseconds : Int.max)
            guard let date = MonthArithmetic.date(endingAt: end) else { continue }
            result.append(
                ReportTrend.Point(
                    date: date, relevant: total - notApplicableSum, online: onlineSum,
                    onlineIncludingHigherLevel: onlineSum + higherSum))
        }
        return ReportTrend(points: result)
    }
}
