/// A problem with input: a file, a command-line argument or a catalogue folder.
///
/// Every input error names where the problem is (file and line where there is one), which field, the bad
/// value and what was expected, so that a person can fix it without guessing. Its `description` is the
/// conventional `FILE:LINE: field: message` form that editors and CI logs link to.
///
/// Code that decides what to do after an error (skip a row and go on, or stop reading) decides on its ``kind``,
/// never on the message, which is for people and may be reworded.
public struct InputError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What sort of problem an input error is: what recovery decisions branch on.
    public enum Kind: Sendable, Hashable, CaseIterable {
        /// The file cannot be read at all: missing, a directory, unreadable, too large.
        case unreadable
        /// The bytes are not UTF-8 text: UTF-16, invalid UTF-8, NUL bytes.
        case encoding
        /// The input breaks its format's syntax or shape (an unclosed or stray quote, a field longer than
        /// accepted, invalid JSON, the wrong document shape, a record that is not an object). In a CSV file,
        /// reading cannot go on after it: where the next record starts is unknown.
        case malformed
        /// A record with more fields than a reader accepts (``CSVReader/maxFields``). Reading cannot go on: the
        /// reader stopped inside the record.
        case tooManyFields
        /// A CSV record whose number of fields differs from the header's. The record was read to its end, so
        /// it is one bad row: reading can go on with the next record.
        case fieldCount
        /// The header is missing, lacks a required column or repeats one.
        case header
        /// A column or key that the format does not have.
        case unknownField
        /// A region or OZG-ID that the loaded registry or catalogue does not have.
        case unknownKey
        /// A required value is missing.
        case missingValue
        /// A value that does not parse or lies outside the accepted range.
        case invalidValue
        /// A record that appears more than once in one input.
        case duplicate
    }

    /// What sort of problem this is (see ``Kind``).
    public var kind: Kind
    /// The file the problem is in, as the user named it; `nil` for command-line arguments.
    public var file: String?
    /// The 1-based line where the offending record starts, if the input has lines.
    public var line: Int?
    /// The field (column, element or option) that holds the bad value.
    public var field: String?
    /// What is wrong and what was expected, e.g. `'0811100' is not an AGS: expected 8 digits`.
    public var message: String

    /// An input error; `kind` defaults to ``Kind/invalidValue``, the most common one.
    public init(_ kind: Kind = .invalidValue, file: String? = nil, line: Int? = nil, field: String? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// The same problem, placed in a file and line (keeps a more precise location that is already set).
    public func located(file: String?, line: Int?) -> InputError {
        var copy = self
        if copy.file == nil { copy.file = file }
        if copy.line == nil { copy.line = line }
        return copy
    }

    /// The same problem, attributed to a field (keeps a field that is already set).
    public func inField(_ field: String) -> InputError {
        var copy = self
        if copy.field == nil { copy.field = field }
        return copy
    }

    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line { text += ":\(line)" }
            text += ": "
        } else if let line {
            text += "line \(line): "
        }
        if let field { text += "\(field): " }
        return text + message
    }
}

/// Several input errors found in one pass (for example every bad row of an import file).
public struct InputErrors: Error, Sendable, CustomStringConvertible {
    /// The errors in input order; at most `limit` of them are kept.
    public var errors: [InputError]
    /// How many errors were found in all, including those not kept.
    public var total: Int

    public init(errors: [InputError], total: Int? = nil) {
        self.errors = errors
        self.total = total ?? errors.count
    }

    public var description: String {
        var lines = errors.map(\.description)
        if total > errors.count { lines.append("… and \(total - errors.count) more errors not shown") }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// The value as it may be shown in an error message: quoted, control characters escaped and cut to a
    /// readable length, so that hostile input can neither flood nor drive the terminal.
    public var quotedForMessage: String { quotedForMessage(limit: 60) }

    /// See ``quotedForMessage``; `limit` is the number of characters kept.
    public func quotedForMessage(limit: Int) -> String { "'\(displayed(limit: limit))'" }

    /// The value escaped and cut like ``quotedForMessage``, without the quotes (for tables).
    public func displayed(limit: Int = 60) -> String {
        var out = ""
        var count = 0
        for scalar in unicodeScalars {
            if count == limit {
                out += "…"
                break
            }
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x00..<0x20, 0x7F, 0x80..<0xA0, 0x200B...0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF:
                // Control, zero-width and bidirectional-override characters are shown, never obeyed.
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
            count += 1
        }
        return out
    }
}

/// An error whose description is a complete, precise message for a person (what is wrong, where, and what
/// was expected). The command-line tool prints these as they are.
public protocol DescribedError: Error, CustomStringConvertible, Sendable {}

extension InputError: DescribedError {}
extension InputErrors: DescribedError {}
