import Foundation

/// Text as XML 1.0 allows it.
public enum XMLText {
    /// `text` with every character XML 1.0 forbids replaced by U+FFFD: the C0 controls other than tab, line
    /// feed and carriage return, and the non-characters U+FFFE and U+FFFF. (Lone surrogates cannot occur in a
    /// Swift string.) Returns `text` itself when it is clean, which is the usual case and costs one scan.
    public static func sanitized(_ text: String) -> String {
        guard needsReplacement(text) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
        }
        return String(result)
    }

    /// Whether XML 1.0 allows the character (`Char` production; surrogates excluded by `Unicode.Scalar`).
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: true
        case 0x00..<0x20: false
        case 0xFFFE, 0xFFFF: false
        default: true
        }
    }

    /// A byte scan: C0 controls other than TAB, LF and CR, and the UTF-8 forms of U+FFFE/U+FFFF (EF BF BE/BF).
    static func needsReplacement(_ text: String) -> Bool {
        var utf8 = text.utf8
        if let found = utf8.withContiguousStorageIfAvailable({ scan($0) }) { return found }
        var copy = text
        copy.makeContiguousUTF8()
        utf8 = copy.utf8
        return utf8.withContiguousStorageIfAvailable { scan($0) } ?? true
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x20 {
                if byte != 0x09 && byte != 0x0A && byte != 0x0D { return true }
            } else if byte == 0xEF, index + 2 < count, bytes[index + 1] == 0xBF, bytes[index + 2] & 0xFE == 0xBE {
                return true
            }
            index += 1
        }
        return false
    }
}

/// Writes times the way the XML report does: UTC, ISO 8601, whole seconds (`2025-11-23T17:04:05Z`), the same
/// text as ``OZGCore/Timestamp/string(_:)`` but without creating a formatter for each of millions of rows.
enum XMLTimestamp {
    static func string(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = civil(daysSinceEpoch: days)
        let hour = Int(rest / 3_600)
        let minute = Int(rest / 60 % 60)
        let second = Int(rest % 60)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z"
    }

    /// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(daysSinceEpoch: Int64) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
