import ArgumentParser
import Foundation
import OZGCore

/// `--db PATH|URL`: the database file, or a PostgreSQL database (`postgresql://…`).
struct StoreOptions: ParsableArguments {
    @Option(
        name: .customLong("db"),
        help: ArgumentHelp(
            "The database: a SQLite file or a postgresql:// URL.", discussion: "Default: OZGTRACK_DB, else ./ozgtrack.sqlite.",
            valueName: "path|url"))
    var path: String?

    var resolvedPath: String { Environment.databasePath(option: path).path }

    /// Whether the path was named (by option or environment) rather than the default.
    var isExplicit: Bool { Environment.databasePath(option: path).isExplicit }

    /// Opens the store for writing; it must exist (see `ozgtrack init`).
    func openForWriting() throws -> any TrackingStore {
        if PostgresDatabase.isURL(resolvedPath) { return try PostgresDatabase.store(resolvedPath, mode: .write) }
        return try SQLiteStore(path: resolvedPath, mode: .write)
    }

    /// Opens the store for the service and its access tokens, which are kept beside the records (in the SQLite
    /// file, or in the PostgreSQL store's schema, shared by every instance of the service on that database).
    func openWithTokens() throws -> any TrackingStore & TokenStore {
        if PostgresDatabase.isURL(resolvedPath) { return try PostgresDatabase.storeWithTokens(resolvedPath) }
        return try SQLiteStore(path: resolvedPath, mode: .write)
    }

    /// Opens the store for reading. With no database at the default path, an empty one stands in (with a
    /// note on stderr), so that reading commands work on a fresh machine; a named path that does not exist is
    /// an error.
    func openForReading() throws -> any TrackingStore {
        let path = resolvedPath
        if PostgresDatabase.isURL(path) { return try PostgresDatabase.store(path, mode: .read) }
        if !isExplicit && !FileManager.default.fileExists(atPath: path) {
            printError("ozgtrack: note: no database at \(path) yet; nothing is recorded (ozgtrack init creates it)")
            return try SQLiteStore.inMemory()
        }
        return try SQLiteStore(path: path, mode: .read)
    }
}

/// `--actor NAME` and `--recorded-at TIME` for writing commands.
struct WriterOptions: ParsableArguments {
    @Option(help: "Who makes the change (default: the user name).")
    var actor: String?

    @Option(
        name: .customLong("recorded-at"),
        help: ArgumentHelp(
            "Record the change as made at this time (to back-fill history).",
            discussion: "YYYY-MM-DD or an ISO 8601 time; not earlier than the latest recorded change.", valueName: "time"))
    var recordedAt: String?

    func batch(source: String, command: String) throws -> BatchInfo {
        let at = try recordedAt.map { text in try parseArgument("--recorded-at", text) { try Timestamp.parse($0, endOfDay: false) } }
        let name = actor ?? Environment.userName
        if name.isEmpty { throw InputError(field: "--actor", message: "empty: expected a name") }
        return BatchInfo(actor: name, source: source, command: command, at: at)
    }
}

/// `--as-of DATE`.
struct AsOfOption: ParsableArguments {
    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp(
            "Show the state at the end of this day (UTC) or at this ISO 8601 time, from the history.", valueName: "date"))
    var text: String?

    var date: Date? {
        get throws { try text.map { value in try parseArgument("--as-of", value) { try Timestamp.parse($0, endOfDay: true) } } }
    }
}

/// `--topic` and `--municipal` for commands that look at services.
struct ServiceFilterOptions: ParsableArguments {
    @Option(name: .customLong("topic"), help: "Only services of this Themenfeld (number or name).")
    var topic: String?

    @Flag(help: "Only services that concern municipalities (LeiKa-Typ 2/3, 3, 4 or 5).")
    var municipal = false

    func filter(_ catalogue: Catalogue) throws -> ServiceFilter {
        let field = try topic.map { text in try parseArgument("--topic", text) { try catalogue.services.themenfeld(matching: $0) } }
        return ServiceFilter(themenfeld: field?.number, municipalOnly: municipal)
    }
}

/// Output of one result (not a listing): text for people, JSON for scripts.
enum ResultFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}
