/// Writing CSV (RFC 4180 quoting).
public enum CSVFormat {
    /// `value` as one CSV field: quoted when it contains the delimiter, a quote, CR or LF (inner quotes
    /// doubled), else unchanged.
    public static func field(_ value: String, delimiter: Character = ",") -> String {
        var needsQuotes = false
        for character in value.unicodeScalars {
            if character == "\"" || character == "\n" || character == "\r" || Character(character) == delimiter {
                needsQuotes = true
                break
            }
        }
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record: fields joined by `delimiter`, ended by `lineEnd`.
    public static func line(_ fields: [String], delimiter: Character = ",", lineEnd: String = "\n") -> String {
        fields.map { field($0, delimiter: delimiter) }.joined(separator: String(delimiter)) + lineEnd
    }
}
