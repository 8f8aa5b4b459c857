import ArgumentParser
import Exporters
import Foundation
import OZGCore

/// Everything ozgtrack reads from the process environment, in one place: the libraries take values, and only
/// the command-line tool maps variables (and `-` for standard input) onto them.
enum Environment {
    /// The variable naming the database file.
    static let database = "OZGTRACK_DB"
    /// The variable naming a catalogue folder.
    static let catalogue = "OZGTRACK_CATALOGUE"
    /// The variable fixing the creation time of reports (seconds since 1970), for reproducible output.
    static let sourceDateEpoch = "SOURCE_DATE_EPOCH"

    /// The value of `name`, or `nil` when it is unset or empty.
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The catalogue named by `--catalogue` (if given), else by `OZGTRACK_CATALOGUE`, else the built-in data.
    static func catalogueSource(option: String?) -> CatalogueSource {
        if let option, !option.isEmpty { return .folder(URL(fileURLWithPath: option)) }
        if let folder = value(catalogue) { return .folder(URL(fileURLWithPath: folder)) }
        return .builtIn
    }

    /// The database named by `--db` (if given), else by `OZGTRACK_DB`, else `./ozgtrack.sqlite`; and whether
    /// it was named rather than the default.
    static func databasePath(option: String?) -> (path: String, isExplicit: Bool) {
        if let option, !option.isEmpty { return (option, true) }
        if let path = value(database) { return (path, true) }
        return ("ozgtrack.sqlite", false)
    }

    /// The creation time `SOURCE_DATE_EPOCH` fixes, if set.
    /// - Throws: ``InputError`` naming the variable when its value is not a number of seconds.
    static func sourceDate() throws -> Date? {
        guard let text = value(sourceDateEpoch) else { return nil }
        guard let seconds = Int64(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
            throw InputError(
                field: sourceDateEpoch, message: "\(text.quotedForMessage): expected a whole number of seconds since 1970-01-01")
        }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The report runner of this process: registered exporters, plugins in the directories of `PATH`.
    static var reportRunner: ReportRunner { ReportRunner(pluginSearchPath: value("PATH") ?? "") }

    /// The user name for the history: `USER`, else `LOGNAME`, else the account's name.
    static var userName: String { value("USER") ?? value("LOGNAME") ?? NSUserName() }
}

/// A library error with a hint in command-line terms (the libraries name no options or variables).
struct HintedError: DescribedError {
    var error: any DescribedError
    var hint: String

    init(_ error: any DescribedError, hint: String) {
        self.error = error
        self.hint = hint
    }

    var description: String { "\(error.description) (\(hint))" }
}
