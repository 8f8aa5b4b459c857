/// How far a service is rolled out in one administrative unit.
public enum Status: String, CaseIterable, Codable, Sendable, Comparable {
    /// Nothing has started (nicht begonnen).
    case notStarted = "not_started"
    /// Work is planned, perhaps with a date (geplant).
    case planned
    /// Work is under way (in Umsetzung).
    case inProgress = "in_progress"
    /// The service is online (online).
    case online
    /// The unit is not responsible for the service (nicht zuständig); it does not count against it.
    case notApplicable = "not_applicable"

    /// The German label for people.
    public var german: String {
        switch self {
        case .notStarted: "nicht begonnen"
        case .planned: "geplant"
        case .inProgress: "in Umsetzung"
        case .online: "online"
        case .notApplicable: "nicht zuständig"
        }
    }

    /// A stable small number for storage.
    public var code: Int {
        switch self {
        case .notStarted: 0
        case .planned: 1
        case .inProgress: 2
        case .online: 3
        case .notApplicable: 4
        }
    }

    /// The status with this storage code.
    public init?(code: Int) {
        guard let status = Status.allCases.first(where: { $0.code == code }) else { return nil }
        self = status
    }

    /// Parses the English value (`in_progress`) or the German words (`in Umsetzung`), ignoring case and
    /// accepting `_`, `-` or a space between words and `ae`/`ue` for `ä`/`ü`.
    /// - Throws: ``InputError`` naming the value and the accepted words.
    public init(parsing text: String) throws(InputError) {
        if let status = Status.lookup[Status.normalise(text)] {
            self = status
            return
        }
        throw InputError(
            message: "\(text.quotedForMessage) is not a status: expected one of "
                + Status.allCases.map { "\($0.rawValue) (\($0.german))" }.joined(separator: ", "))
    }

    private static func normalise(_ text: String) -> String {
        var result = ""
        for scalar in text.lowercased().unicodeScalars {
            switch scalar {
            case "_", "-", " ": if !result.hasSuffix(" ") && !result.isEmpty { result += " " }
            case "ä": result += "ae"
            case "ö": result += "oe"
            case "ü": result += "ue"
            default: result.unicodeScalars.append(scalar)
            }
        }
        while result.hasSuffix(" ") { result.removeLast() }
        return result
    }

    private static let lookup: [String: Status] = {
        var table: [String: Status] = [:]
        for status in Status.allCases {
            table[normalise(status.rawValue)] = status
            table[normalise(status.german)] = status
        }
        table["not applicable"] = .notApplicable
        table["nicht zustaendig"] = .notApplicable
        return table
    }()

    public static func < (lhs: Status, rhs: Status) -> Bool { lhs.code < rhs.code }
}

/// The maturity model a Reifegrad is measured in.
public enum MaturityModel: Int, CaseIterable, Codable, Sendable {
    /// The OZG Reifegradmodell: levels 0–4 (3 = fully online application, the OZG target).
    case v1 = 1
    /// The Reifegradmodell 2.0 (2025): levels 0–7.
    case v2 = 2

    /// The valid levels.
    public var levels: ClosedRange<Int> {
        switch self {
        case .v1: 0...4
        case .v2: 0...7
        }
    }

    /// Parses `1` or `2`.
    public init(parsing text: String) throws(InputError) {
        guard let value = Int(text), let model = MaturityModel(rawValue: value) else {
            throw InputError(message: "\(text.quotedForMessage) is not a maturity model: expected 1 (levels 0-4) or 2 (levels 0-7)")
        }
        self = model
    }
}
