public import Foundation

/// What a record is about: one service in one administrative unit.
public struct RecordKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The unit (canonical key of any level).
    public var region: RegionKey
    /// The OZG-Leistung.
    public var service: OZGID

    public init(region: RegionKey, service: OZGID) {
        self.region = region
        self.service = service
    }

    public static func < (lhs: RecordKey, rhs: RecordKey) -> Bool {
        (lhs.region.description, lhs.service.value) < (rhs.region.description, rhs.service.value)
    }

    public var description: String { "\(region) \(service)" }
}

/// The fields of a record, named as in the import and dump CSV.
public enum RecordField: String, CaseIterable, Sendable, Codable {
    case status
    case maturity
    case maturityModel = "maturity_model"
    case planned
    case onlineSince = "online_since"
    case url
    case solution
    case note
}

/// The recorded values of one service in one unit.
///
/// Text fields never hold empty strings: empty means "not recorded" (`nil`).
public struct RecordValues: Hashable, Sendable {
    /// The rollout status.
    public var status: Status
    /// The Reifegrad, in ``maturityModel``.
    public var maturity: Int?
    /// The model the Reifegrad is measured in; set exactly when ``maturity`` is.
    public var maturityModel: MaturityModel?
    /// When going online is planned.
    public var planned: ISODate?
    /// Since when the service is online.
    public var onlineSince: ISODate?
    /// Where the online service is.
    public var url: String?
    /// The solution or provider, e.g. the EfA service used.
    public var solution: String?
    /// A free note.
    public var note: String?

    public init(
        status: Status, maturity: Int? = nil, maturityModel: MaturityModel? = nil, planned: ISODate? = nil,
        onlineSince: ISODate? = nil, url: String? = nil, solution: String? = nil, note: String? = nil
    ) {
        self.status = status
        self.maturity = maturity
        self.maturityModel = maturity == nil ? nil : (maturityModel ?? .v1)
        self.planned = planned
        self.onlineSince = onlineSince
        self.url = url
        self.solution = solution
        self.note = note
    }

    /// The value of `field` in its canonical text form (as in the dump), or `nil`.
    public func text(_ field: RecordField) -> String? {
        switch field {
        case .status: status.rawValue
        case .maturity: maturity.map(String.init)
        case .maturityModel: maturityModel.map { String($0.rawValue) }
        case .planned: planned?.description
        case .onlineSince: onlineSince?.description
        case .url: url
        case .solution: solution
        case .note: note
        }
    }

    /// The fields whose values differ from `other` (every set field when `other` is `nil`).
    public func changedFields(from other: RecordValues?) -> [RecordField] {
        RecordField.allCases.filter { text($0) != other?.text($0) }
    }

    /// The Reifegrad as "3 (Modell 1)", or `nil`.
    public var maturityText: String? {
        guard let maturity else { return nil }
        return "\(maturity) (Modell \(maturityModel?.rawValue ?? 1))"
    }

    // MARK: Validation of single values, shared by every reader

    /// The longest URL accepted.
    public static let maxURLLength = 2_048
    /// The longest solution text accepted.
    public static let maxSolutionLength = 500
    /// The longest note accepted.
    public static let maxNoteLength = 4_000

    /// Checks a service URL: absolute `http` or `https` with a host, no spaces or control characters.
    ///
    /// A small scanner rather than `URLComponents`: imports check millions of URLs, and the rule is simple.
    public static func validateURL(_ text: String) throws(InputError) -> String {
        var copy = text
        let result: Result<String, InputError> = copy.withUTF8 { bytes in
            do throws(InputError) {
                return .success(try validateURL(bytes: bytes, text: text))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func validateURL(bytes: UnsafeBufferPointer<UInt8>, text: String) throws(InputError) -> String {
        guard bytes.count <= maxURLLength else {
            throw InputError(message: "\(text.quotedForMessage) is \(bytes.count) bytes long: expected at most \(maxURLLength)")
        }
        func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
        let http: StaticString = "http://"
        let https: StaticString = "https://"
        func hasPrefix(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard bytes.count > count else { return false }
            for index in 0..<count where lower(bytes[index]) != prefix.utf8Start[index] { return false }
            return true
        }
        var start = 0
        if hasPrefix(https) {
            start = https.utf8CodeUnitCount
        } else if hasPrefix(http) {
            start = http.utf8CodeUnitCount
        }
        var hostEnd = start
        while hostEnd < bytes.count, bytes[hostEnd] != 0x2F, bytes[hostEnd] != 0x3F, bytes[hostEnd] != 0x23 { hostEnd += 1 }
        var host = bytes[start..<hostEnd]
        if let at = host.lastIndex(of: 0x40) { host = host[(at + 1)...] }
        if let colon = host.lastIndex(of: 0x3A), host.first != 0x5B { host = host[..<colon] }
        let clean = bytes.allSatisfy { $0 > 0x20 && $0 != 0x7F }
        guard start > 0, !host.isEmpty, clean else {
            throw InputError(message: "\(text.quotedForMessage) is not a web address: expected an absolute http or https URL")
        }
        return text
    }

    /// Checks free text: no control characters (line breaks and tabs allowed where `multiline`), at most
    /// `limit` characters.
    public static func validateText(_ text: String, limit: Int, multiline: Bool) throws(InputError) -> String {
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            let value = scalar.value
            let allowed = multiline && (value == 0x0A || value == 0x0D || value == 0x09)
            if (value < 0x20 || value == 0x7F) && !allowed {
                throw InputError(
                    message: "\(text.quotedForMessage) contains the control character U+\(String(format: "%04X", value)): "
                        + (multiline ? "expected text (line breaks and tabs are allowed)" : "expected a single line of text"))
            }
        }
        guard count <= limit else {
            throw InputError(message: "the text is \(count) characters long: expected at most \(limit)")
        }
        return text
    }

    /// Checks a Reifegrad against its model.
    public static func validateMaturity(_ level: Int, model: MaturityModel) throws(InputError) {
        guard model.levels.contains(level) else {
            throw InputError(
                field: RecordField.maturity.rawValue,
                message: "'\(level)' is out of range for maturity model \(model.rawValue): expected \(model.levels.lowerBound)-\(model.levels.upperBound)")
        }
    }
}

/// A change to one record, as given by a command or one row of an import: `nil` means "not given" (the
/// stored value stays), fields in ``clear`` are removed.
public struct RecordUpdate: Hashable, Sendable {
    public var status: Status?
    public var maturity: Int?
    public var maturityModel: MaturityModel?
    public var planned: ISODate?
    public var onlineSince: ISODate?
    public var url: String?
    public var solution: String?
    public var note: String?
    /// Fields to remove from the record.
    public var clear: Set<RecordField>

    public init(
        status: Status? = nil, maturity: Int? = nil, maturityModel: MaturityModel? = nil, planned: ISODate? = nil,
        onlineSince: ISODate? = nil, url: String? = nil, solution: String? = nil, note: String? = nil,
        clear: Set<RecordField> = []
    ) {
        self.status = status
        self.maturity = maturity
        self.maturityModel = maturityModel
        self.planned = planned
        self.onlineSince = onlineSince
        self.url = url
        self.solution = solution
        self.note = note
        self.clear = clear
    }

    /// The whole record after this update, checked as a whole.
    /// - Parameter current: the stored values, `nil` for a new record.
    /// - Throws: ``InputError`` with the field: a new record without status, a status to clear, a Reifegrad
    ///   out of its model's range, a model without a Reifegrad.
    public consuming func applied(to current: RecordValues?) throws(InputError) -> RecordValues {
        // A new record from an update that clears nothing (every row of a CSV import into an empty store): the
        // values are built in one go, the texts moved over. Through the general path below each text was copied
        // into the values and the update's copy released: `applied` was 9 % of a national PostgreSQL import's
        // client samples, 7.7 % of them the values' outlined copy (`perf record`, 5,988,307 rows). The checks
        // and their order are the general path's.
        if current == nil && clear.isEmpty {
            guard let status else { throw Self.missingStatus }
            _ = try Self.checkedModel(level: maturity, model: maturityModel, given: maturityModel)
            // The texts taken out (`take()`), not copied: the update is dropped right after.
            return RecordValues(
                status: status, maturity: maturity, maturityModel: maturityModel, planned: planned,
                onlineSince: onlineSince, url: url.take(), solution: solution.take(), note: note.take())
        }
        // One pass over the (small) set rather than a hashed look-up per field: an XML import clears fields
        // on every row, and the look-ups were a twentieth of its reading stage (docs/performance.md).
        var clears = (maturity: false, planned: false, onlineSince: false, url: false, solution: false, note: false)
        for field in clear {
            switch field {
            case .status: throw InputError(field: "status", message: "cannot be cleared: expected a status for every record")
            case .maturity: clears.maturity = true
            case .maturityModel: break
            case .planned: clears.planned = true
            case .onlineSince: clears.onlineSince = true
            case .url: clears.url = true
            case .solution: clears.solution = true
            case .note: clears.note = true
            }
        }
        guard let status = status ?? current?.status else { throw Self.missingStatus }
        var values = current ?? RecordValues(status: status)
        values.status = status
        if let maturity { values.maturity = maturity }
        if let maturityModel { values.maturityModel = maturityModel }
        if clears.maturity {
            values.maturity = nil
            values.maturityModel = nil
        }
        values.maturityModel = try Self.checkedModel(level: values.maturity, model: values.maturityModel, given: maturityModel)
        if let planned { values.planned = planned }
        if let onlineSince { values.onlineSince = onlineSince }
        if let url { values.url = url }
        if let solution { values.solution = solution }
        if let note { values.note = note }
        if clears.planned { values.planned = nil }
        if clears.onlineSince { values.onlineSince = nil }
        if clears.url { values.url = nil }
        if clears.solution { values.solution = nil }
        if clears.note { values.note = nil }
        return values
    }

    private static let missingStatus = InputError(
        field: "status", message: "missing for a record that does not exist yet: expected a status")

    /// The maturity model a record with Reifegrad `level` keeps (`model`, v1 when it has none), checked against
    /// the model's range; `nil` without a Reifegrad, where a model the update gave (`given`) is refused.
    private static func checkedModel(level: Int?, model: MaturityModel?, given: MaturityModel?) throws(InputError) -> MaturityModel? {
        guard let level else {
            if given != nil {
                throw InputError(field: "maturity_model", message: "given without a maturity: expected a maturity level with it")
            }
            return nil
        }
        let model = model ?? .v1
        try RecordValues.validateMaturity(level, model: model)
        return model
    }
}

/// A record as stored: its values and who last changed it, when and from where.
public struct StoredRecord: Hashable, Sendable {
    public var key: RecordKey
    public var values: RecordValues
    /// When the last change was recorded.
    public var updatedAt: Date
    /// Who recorded it (`--actor`, else the user name).
    public var updatedBy: String
    /// Where it came from: `cli` or the imported file's name.
    public var source: String

    public init(key: RecordKey, values: RecordValues, updatedAt: Date, updatedBy: String, source: String) {
        self.key = key
        self.values = values
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
        self.source = source
    }
}

/// One change in the history: a record's values before and after, who, when, from where.
public struct RecordChange: Hashable, Sendable {
    public var key: RecordKey
    /// The values before; `nil` when the change created the record.
    public var old: RecordValues?
    public var new: RecordValues
    public var at: Date
    public var actor: String
    public var source: String

    /// The fields that differ.
    public var fields: [RecordField] { new.changedFields(from: old) }
}

/// Who writes, from where, and (for back-filling history) when.
public struct BatchInfo: Sendable, Hashable {
    /// The person or system (`--actor`, else the user name).
    public var actor: String
    /// `cli`, or the imported file's name.
    public var source: String
    /// The command, e.g. `set` or `import`.
    public var command: String
    /// The time to record; `nil` for now. It may not be earlier than the latest recorded change.
    public var at: Date?

    public init(actor: String, source: String, command: String, at: Date? = nil) {
        self.actor = actor
        self.source = source
        self.command = command
        self.at = at
    }
}

/// Formats timestamps the way ozgtrack writes them: UTC, ISO 8601, seconds.
public enum Timestamp {
    /// `2025-11-23T17:04:05Z`.
    ///
    /// Computed from the seconds since 1970 (the proleptic Gregorian calendar, UTC) rather than with
    /// `ISO8601DateFormatter`: reports format a timestamp per row, and creating a formatter per call cost
    /// about 100 µs — ten minutes for a national report.
    public static func string(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        var year4 = String(year)
        while year4.count < 4 { year4 = "0" + year4 }
        return "\(year4)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }

    /// Parses `YYYY-MM-DD` (the last millisecond of that day, UTC, when `endOfDay`; its first otherwise) or a
    /// full ISO 8601 timestamp (`2025-06-30T12:00:00Z`, also with an offset). Bounds are inclusive.
    public static func parse(_ text: String, endOfDay: Bool) throws(InputError) -> Date {
        if let day = ISODate(text) { return endOfDay ? day.endOfDayUTC.addingTimeInterval(-0.001) : day.startOfDayUTC }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        throw InputError(
            message: "\(text.quotedForMessage) is not a date: expected YYYY-MM-DD or an ISO 8601 time such as 2025-06-30T12:00:00Z")
    }
}
