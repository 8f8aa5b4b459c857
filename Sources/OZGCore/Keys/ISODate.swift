public import Foundation

/// A calendar date written `YYYY-MM-DD` (ISO 8601), validated: `2024-02-30` is refused.
public struct ISODate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The date as YYYYMMDD in four bytes: dates sit in every record, which reports copy millions of times.
    private let storage: Int32

    public var year: Int { Int(storage) / 10_000 }
    public var month: Int { Int(storage) / 100 % 100 }
    public var day: Int { Int(storage) % 100 }

    private init(checkedYear year: Int, month: Int, day: Int) {
        storage = Int32(year * 10_000 + month * 100 + day)
    }

    /// Parses `YYYY-MM-DD`; `nil` when the text is not a real date.
    public init?(_ text: some StringProtocol) {
        guard let date = Array(text.utf8).withUnsafeBufferPointer({ ISODate(utf8: $0) }) else { return nil }
        self = date
    }

    /// Parses `YYYY-MM-DD` from UTF-8 bytes; `nil` when they are not a real date.
    public init?<Bytes: Collection<UInt8>>(utf8 bytes: Bytes) where Bytes.Index == Int {
        guard bytes.count == 10 else { return nil }
        let base = bytes.startIndex
        guard bytes[base + 4] == 0x2D, bytes[base + 7] == 0x2D else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for offset in range {
                let byte = bytes[base + offset]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        guard year >= 1900, (1...12).contains(month), day >= 1, day <= ISODate.days(in: month, of: year) else {
            return nil
        }
        self.init(checkedYear: year, month: month, day: day)
    }

    /// Parses `YYYY-MM-DD` or throws an error naming the value.
    public static func parse(_ text: String) throws(InputError) -> ISODate {
        guard let date = ISODate(text) else {
            throw InputError(message: "\(text.quotedForMessage) is not a date: expected a real date written YYYY-MM-DD")
        }
        return date
    }

    /// The date as the number YYYYMMDD (how the store keeps it).
    public var packed: Int { Int(storage) }

    /// A date from the number YYYYMMDD; `nil` when it is not a real date.
    public init?(packed: Int) {
        let year = packed / 10_000
        let month = packed / 100 % 100
        let day = packed % 100
        guard year >= 1900, year <= 9999, (1...12).contains(month), day >= 1, day <= ISODate.days(in: month, of: year) else {
            return nil
        }
        self.init(checkedYear: year, month: month, day: day)
    }

    /// The date of `date` in UTC.
    public init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(checkedYear: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    static func days(in month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// The first instant of the day after this one, in UTC: "as of 2025-06-30" includes the whole day.
    public var endOfDayUTC: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let start = calendar.date(from: DateComponents(year: year, month: month, day: day)) ?? Date(timeIntervalSince1970: 0)
        return start.addingTimeInterval(86_400)
    }

    /// The first instant of the day, in UTC.
    public var startOfDayUTC: Date { endOfDayUTC.addingTimeInterval(-86_400) }

    public static func < (lhs: ISODate, rhs: ISODate) -> Bool {
        lhs.storage < rhs.storage
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try ISODate.parse(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
