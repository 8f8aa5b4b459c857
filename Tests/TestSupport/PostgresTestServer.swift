import Foundation

/// The PostgreSQL server of a test run: `OZGTRACK_TEST_POSTGRES_URL`, which `scripts/test.sh` sets after starting a
/// throwaway cluster. Without it the PostgreSQL tests fail with a pointer to that script — unless the developer
/// asked for a quick run (`OZGTRACK_QUICK=1`), which skips them. One place for every test target that talks to the
/// server.
public enum PostgresTestServer {
    /// The server's URL, if the run has one.
    public static let url = ProcessInfo.processInfo.environment["OZGTRACK_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// Whether this is a quick run (`OZGTRACK_QUICK=1`): tests that need an external program may be skipped.
    public static let quick = ProcessInfo.processInfo.environment["OZGTRACK_QUICK"] == "1"

    /// Whether the PostgreSQL tests run (then they need the server).
    public static var enabled: Bool { url != nil || !quick }

    /// The failure of a PostgreSQL test in a run without a server.
    public struct Missing: Error, CustomStringConvertible {
        public init() {}

        public var description: String {
            "OZGTRACK_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a throwaway "
                + "PostgreSQL cluster (or set OZGTRACK_QUICK=1 to skip the PostgreSQL tests)"
        }
    }

    /// The server's URL, or the failure that tells how to get one.
    public static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    /// A schema name no other test uses: `prefix` and `length` random hexadecimal digits.
    public static func freshSchema(prefix: String = "t_", length: Int = 20) -> String {
        prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(length)
    }

    /// `base` (by default the server's URL) with `schema` selected.
    public static func url(schema: String, base: String? = nil) throws -> String {
        let base = try base ?? requireURL()
        return base + (base.contains("?") ? "&" : "?") + "schema=" + schema
    }
}
