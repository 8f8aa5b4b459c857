public import Foundation

/// JSON as ozgtrack writes it for scripts: keys sorted, indented, slashes unescaped, so that output is
/// stable from run to run and diffs well.
public enum JSON {
    /// An encoder with ozgtrack's settings; dates as ISO 8601 (UTC, seconds).
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(date))
        }
        return encoder
    }

    /// `value` as JSON text.
    public static func encode(_ value: some Encodable, pretty: Bool = true) throws -> String {
        String(decoding: try encoder(pretty: pretty).encode(value), as: UTF8.self)
    }
}
