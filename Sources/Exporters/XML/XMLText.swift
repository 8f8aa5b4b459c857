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
