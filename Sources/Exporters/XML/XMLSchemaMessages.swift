import Foundation
import OZGCore

/// Turns libxml2's schema messages into ozgtrack's: the element (or `element/@attribute`) as the field, the bad
/// value quoted and cut to a readable length, what was expected in words, no namespaces.
///
/// libxml2's messages follow a handful of forms (`[facet 'pattern'] The value 'x' is not accepted by …`,
/// `'x' is not a valid value of the atomic type 'T'.`, `This element is not expected. Expected is ( a ).`);
/// those are rephrased, anything else is kept as libxml2 wrote it.
struct XMLSchemaMessages {
    private var previous: (line: Int?, field: String?, facet: Bool)?

    /// The issue for `problem`, or `nil` when it repeats the previous one (libxml2 may report a facet violation
    /// and then, for the same value, that it is not valid for its type).
    mutating func issue(_ problem: LibXMLProblem, file: String) -> XMLValidationIssue? {
        let line = problem.line > 0 ? problem.line : nil
        guard problem.isValidity else {
            return XMLValidationIssue(
                file: file, line: line, column: problem.column,
                message: "\(problem.message.displayed(limit: 300)): expected well-formed XML")
        }
        var text = problem.message.replacingOccurrences(of: "{\(XMLReportSchema.namespace)}", with: "")
        var element: String?
        var attribute: String?
        if let (name, rest) = Self.quotedPrefix(text, "Element '") {
            element = name
            text = rest
            if let (attributeName, afterAttribute) = Self.quotedPrefix(text, ", attribute '") {
                attribute = attributeName
                text = afterAttribute
            }
            if text.hasPrefix(": ") { text.removeFirst(2) }
        }
        let field = attribute.map { "\(element ?? "")/@\($0)" } ?? element
        let isFacet = text.hasPrefix("[facet ")
        let isTypeError = text.contains("is not a valid value of the")
        if isTypeError, let previous, previous.facet, previous.line == line, previous.field == field { return nil }
        previous = (line, field, isFacet)
        let message = Self.rephrase(text, name: attribute ?? element)
        return XMLValidationIssue(file: file, line: line, column: problem.column, field: field, message: message)
    }

    /// `name` and what follows when `text` starts with `prefix` + name + `'`.
    private static func quotedPrefix(_ text: String, _ prefix: String) -> (String, String)? {
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let end = rest.firstIndex(of: "'") else { return nil }
        return (String(rest[..<end]), String(rest[rest.index(after: end)...]))
    }

    /// What a value of the element or attribute `name` should be, in words: (noun, expectation).
    static func expectation(_ name: String?) -> (noun: String, expected: String)? {
        switch name {
        case "ozgId": ("an OZG-ID", "expected 5 digits")
        case "regionalschluessel", "bereitgestelltDurch":
            ("a Regionalschlüssel", "expected 2, 3, 5, 8 or 9 digits (Land, Bezirk, Kreis, Gemeinde, Verband)")
        case "geplantZum", "onlineSeit", "stand": ("a date", "expected a real date written YYYY-MM-DD")
        case "erstelltAm", "stichtag", "aktualisiertAm": ("a time", "expected an ISO 8601 time such as 2025-06-30T12:00:00Z")
        case "url": ("a web address", "expected an absolute http or https URL without spaces, at most 2048 characters")
        case "reifegrad", "wert": ("a Reifegrad", "expected a level 0-4 (model 1) or 0-7 (model 2)")
        case "modell": ("a maturity model", "expected 1 or 2")
        case "status": ("a status", "expected not_started, planned, in_progress, online or not_applicable (untracked in the filter)")
        case "ebene": ("a level", "expected land, bezirk, kreis, verband, gemeinde, gemeindefrei or bund")
        case "klasse": ("a coverage class", "expected flaechendeckend, mindestens_eine or keine")
        case "anteil": ("a share", "expected a percentage 0-100 with at most one decimal")
        case "berichtseinheit", "nurKommunal", "herkunftEnthalten", "onlineEinschliesslichHoehererEbene":
            ("a boolean", "expected true or false")
        case "themenfeld", "nummer": ("a Themenfeld number", "expected a whole number")
        case "version": ("the schema version", "expected 1")
        case "berichtseinheiten", "leistungen", "erfasst", "nichtBegonnen", "geplant", "inUmsetzung", "online",
            "nichtZustaendig", "relevant", "onlineEigene", "reifegradMindestens3", "reifegradModell2", "anzahl",
            "einheiten", "relevanteEinheiten", "nichtZugeordneteEintraege", "eintraegeHoehererEbenen":
            ("a count", "expected a whole number, 0 or more")
        default: nil
        }
    }

    static func rephrase(_ text: String, name: String?) -> String {
        let expected = expectation(name)
        // [facet 'enumeration'] The value 'x' is not an element of the set {'a', 'b'}.
        if let value = between(text, "The value '", "' is not an element of the set {") {
            let set = between(text, "is not an element of the set {", "}")?.replacingOccurrences(of: "'", with: "") ?? ""
            return "\(value.quotedForMessage) is not \(expected?.noun ?? "allowed here"): expected one of \(set)"
        }
        // [facet 'pattern'] The value 'x' is not accepted by the pattern 'p'.
        if let value = between(text, "The value '", "' is not accepted by the pattern '") {
            if let expected { return "\(value.quotedForMessage) is not \(expected.noun): \(expected.expected)" }
            return "\(value.quotedForMessage) does not have the expected form"
        }
        // [facet 'maxInclusive'] The value 'x' is greater than the maximum value allowed ('7').
        if let value = between(text, "The value '", "' is greater than the maximum value allowed ('") {
            let limit = between(text, "maximum value allowed ('", "')") ?? "?"
            return "\(value.quotedForMessage) is too large: expected at most \(limit)" + (expected.map { " (\($0.expected))" } ?? "")
        }
        if let value = between(text, "The value '", "' is less than the minimum value allowed ('") {
            let limit = between(text, "minimum value allowed ('", "')") ?? "?"
            return "\(value.quotedForMessage) is too small: expected at least \(limit)"
        }
        // [facet 'maxLength'] The value has a length of '5000'; this exceeds the allowed maximum length of '4000'.
        if let length = between(text, "The value has a length of '", "'; this exceeds the allowed maximum length of '") {
            let limit = between(text, "allowed maximum length of '", "'") ?? "?"
            return "the text is \(length) characters long: expected at most \(limit)"
        }
        // [facet 'fractionDigits'] The value '1.25' has more fractional digits than are allowed ('1').
        if let value = between(text, "The value '", "' has more fractional digits than are allowed") {
            return "\(value.quotedForMessage) has too many decimals: \(expected?.expected ?? "expected at most one")"
        }
        // 'x' is not a valid value of the atomic type 'T'. (also: of the local union type / list type)
        if text.hasPrefix("'"), let end = text.range(of: "' is not a valid value of the") {
            let value = String(text[text.index(after: text.startIndex)..<end.lowerBound])
            if let expected { return "\(value.quotedForMessage) is not \(expected.noun): \(expected.expected)" }
            let type = between(text, "type '", "'").map { " (\($0))" } ?? ""
            return "\(value.quotedForMessage) is not a valid value\(type)"
        }
        // The value 'x' does not match the fixed value constraint '1'.
        if let value = between(text, "The value '", "' does not match the fixed value constraint '") {
            let fixed = between(text, "fixed value constraint '", "'") ?? "?"
            return "\(value.quotedForMessage) is not allowed: expected \(fixed)"
        }
        if text.hasPrefix("This element is not expected.") {
            return "unexpected element here: " + expectedElements(text, otherwise: "expected no element")
        }
        if text.hasPrefix("Missing child element(s).") {
            return "a required element is missing: " + expectedElements(text, otherwise: "expected more content")
        }
        if text.hasPrefix("No matching global declaration available for the validation root") {
            return "is not the root of an ozgtrack report: expected umsetzungsbericht in the namespace \(XMLReportSchema.namespace)"
        }
        if let attribute = between(text, "The attribute '", "' is required but missing") {
            return "the attribute \(attribute) is missing: expected it on this element"
        }
        if text.hasPrefix("The attribute '"), text.contains("is not allowed") {
            let attribute = between(text, "The attribute '", "'") ?? "?"
            return "the attribute \(attribute) is not allowed here: expected none of that name"
        }
        if text.hasPrefix("Character content other than whitespace is not allowed") {
            return "text is not allowed here: expected only child elements"
        }
        if text.hasPrefix("Element content is not allowed") {
            return "child elements are not allowed here: expected text only"
        }
        var kept = text
        while kept.hasSuffix(".") { kept.removeLast() }
        return kept.displayed(limit: 300)
    }

    /// `( a, b )` of libxml2's "Expected is ( a )." / "Expected is one of ( a, b )." as words.
    private static func expectedElements(_ text: String, otherwise: String) -> String {
        guard let list = between(text, "Expected is ( ", " )") ?? between(text, "Expected is one of ( ", " )") else {
            return otherwise
        }
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return names.count == 1 ? "expected \(names[0])" : "expected one of \(names.joined(separator: ", "))"
    }

    /// The text between the first `start` and the next `end` after it (the last `end` for values that may contain
    /// quotes is not needed: libxml2 ends each pattern with a fixed text).
    private static func between(_ text: String, _ start: String, _ end: String) -> String? {
        guard let open = text.range(of: start) else { return nil }
        guard let close = text.range(of: end, range: open.upperBound..<text.endIndex) else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
