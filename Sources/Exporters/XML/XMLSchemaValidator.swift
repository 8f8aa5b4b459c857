public import Foundation
public import OZGCore

/// One problem of an XML input: where it is and what is wrong.
public struct XMLValidationIssue: Sendable, Hashable, CustomStringConvertible {
    /// The file, as the user named it.
    public var file: String
    /// The 1-based line, when known.
    public var line: Int?
    /// The 1-based column, when libxml2 gives one.
    public var column: Int?
    /// The element (or attribute) at fault, when known.
    public var field: String?
    /// What is wrong and what was expected.
    public var message: String

    /// An issue at `file:line:column`, in `field`.
    public init(file: String, line: Int?, column: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// The issue as an `InputError` (without the column).
    public var inputError: InputError { InputError(file: file, line: line, field: field, message: message) }

    /// `FILE:LINE:COLUMN: field: message`.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if let field { text += "\(field): " }
        return text + message
    }
}

/// What validating one input found.
public struct XMLValidationResult: Sendable {
    /// The input's name.
    public var file: String
    /// The problems in input order (at most the validator's ``XMLSchemaValidator/issueLimit``).
    public var issues: [XMLValidationIssue]
    /// How many problems were found in all.
    public var total: Int
    /// Whether the input is a valid ozgtrack XML report.
    public var isValid: Bool { total == 0 }
}

/// Validates XML against the embedded schema of ozgtrack's report (``XMLReportSchema``), streaming and with
/// the same safe parser settings as the import (no DOCTYPE, no network, no entity substitution).
///
/// Used by `ozgtrack validate FILE`: every problem is returned with its line (and column where libxml2 gives
/// one), not only the first.
public struct XMLSchemaValidator: Sendable {
    /// The largest input accepted (see ``XMLInputLimits/maxBytes``).
    public var maxBytes: Int
    /// How many issues are kept (all are counted).
    public var issueLimit: Int

    /// A validator that accepts input up to `maxBytes` and keeps the first `issueLimit` issues.
    public init(maxBytes: Int = XMLInputLimits.maxBytes, issueLimit: Int = 1_000) {
        self.maxBytes = maxBytes
        self.issueLimit = issueLimit
    }

    /// Validates the file at `path`.
    /// - Throws: `InputError` when the file cannot be opened or is larger than ``maxBytes``; everything about
    ///   its content (not well-formed, a DOCTYPE, schema violations) is returned as issues.
    public func validate(file path: String) throws -> XMLValidationResult {
        try run(try XMLInputStream(path: path, maxBytes: maxBytes))
    }

    /// Validates what an open handle (standard input, a pipe) delivers; `name` is used as the file name in
    /// issues. The handle is not closed.
    public func validate(handle: FileHandle, name: String) throws -> XMLValidationResult {
        try run(XMLInputStream(handle: handle, name: name, maxBytes: maxBytes))
    }

    /// Validates XML held in a string; `name` is used as the file name in issues.
    public func validate(string text: String, name: String = "<string>") throws -> XMLValidationResult {
        try run(XMLInputStream(bytes: Array(text.utf8), name: name, maxBytes: maxBytes))
    }

    private func run(_ input: XMLInputStream) throws -> XMLValidationResult {
        let diagnostics = LibXMLDiagnostics()
        var result = XMLValidationResult(file: input.file, issues: [], total: 0)
        func add(_ issue: XMLValidationIssue) {
            result.total += 1
            if result.issues.count < issueLimit { result.issues.append(issue) }
        }
        try LibXMLErrorScope.run(diagnostics) {
            let reader = try XMLStreamReader(input: input, diagnostics: diagnostics)
            var messages = XMLSchemaMessages()
            do throws(InputError) {
                while try reader.next() {
                    for problem in diagnostics.take() where !problem.isWarning {
                        if let issue = messages.issue(problem, file: input.file) { add(issue) }
                    }
                }
                for problem in diagnostics.take() where !problem.isWarning {
                    if let issue = messages.issue(problem, file: input.file) { add(issue) }
                }
            } catch {
                // Problems found before the fatal one, then the fatal one.
                for problem in reader.problemsBeforeFailure where !problem.isWarning {
                    if let issue = messages.issue(problem, file: input.file) { add(issue) }
                }
                add(XMLValidationIssue(file: input.file, line: error.line, field: error.field, message: error.message))
            }
            result.total += diagnostics.dropped
        }
        return result
    }
}
