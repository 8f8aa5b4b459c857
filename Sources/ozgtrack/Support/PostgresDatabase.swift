import Foundation
import OZGCore
import PostgresStore

/// The CLI's side of `--db postgresql://…`: the only place that reads libpq's environment variables and the
/// password file; the library gets the values.
enum PostgresDatabase {
    /// Whether `location` (a `--db` value or `OZGTRACK_DB`) names a PostgreSQL database.
    static func isURL(_ location: String) -> Bool { PostgresConfiguration.isURL(location) }

    /// The URL completed from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE` and the password
    /// file (`PGPASSFILE`, else `~/.pgpass`; like libpq, a file that group or others may read is ignored, with a
    /// warning).
    static func configuration(_ url: String) throws -> PostgresConfiguration {
        let environment = ProcessInfo.processInfo.environment
        return try PostgresConfiguration.resolve(url: url, environment: environment, passwordFile: passwordFile(environment))
    }

    private static func passwordFile(_ environment: [String: String]) -> String? {
        let path: String
        if let named = environment["PGPASSFILE"], !named.isEmpty {
            path = named
        } else if let home = environment["HOME"], !home.isEmpty {
            path = home + "/.pgpass"
        } else {
            path = NSHomeDirectory() + "/.pgpass"
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        if let permissions = attributes[.posixPermissions] as? Int, permissions & 0o077 != 0 {
            printError(
                "ozgtrack: warning: the password file \(path) may be read by group or others and is ignored: "
                    + "chmod 600 \(path)")
            return nil
        }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// The record store at `url`.
    static func store(_ url: String, mode: PostgresBackend.Mode) throws -> any TrackingStore {
        RecordStore(backend: try open(url, mode: mode))
    }

    /// The record store at `url` with its access tokens (for `ozgtrack serve` and `ozgtrack token`).
    static func storeWithTokens(_ url: String) throws -> any TrackingStore & TokenStore {
        PostgresTrackingStore(backend: try open(url, mode: .write))
    }

    /// Opens the backend at `url`.
    static func open(_ url: String, mode: PostgresBackend.Mode) throws -> PostgresBackend {
        try PostgresBackend(configuration: try configuration(url), mode: mode)
    }
}
