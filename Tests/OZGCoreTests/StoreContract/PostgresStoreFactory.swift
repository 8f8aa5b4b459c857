import Foundation
import OZGCore
import PostgresStore
import Testing

extension StoreFactories {
    /// The PostgreSQL server of the test run: `OZGTRACK_TEST_POSTGRES_URL`, which `scripts/test.sh` sets after
    /// starting a throwaway cluster. Without it the PostgreSQL cases fail with a pointer to that script, unless
    /// the run is a quick one (`OZGTRACK_QUICK=1`), which leaves them out.
    static let postgresURL = ProcessInfo.processInfo.environment["OZGTRACK_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The PostgreSQL factory, unless a quick run has no server.
    static var postgresFactories: [StoreFactory] {
        postgresURL == nil && ProcessInfo.processInfo.environment["OZGTRACK_QUICK"] == "1" ? [] : [postgres]
    }

    struct NoPostgresServer: Error, CustomStringConvertible {
        var description: String {
            "OZGTRACK_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts a throwaway "
                + "PostgreSQL cluster (or set OZGTRACK_QUICK=1 to skip the PostgreSQL tests)"
        }
    }

    /// A schema of its own on the test server, dropped afterwards.
    static let postgres = StoreFactory(name: "PostgreSQL") {
        guard let base = postgresURL else { throw NoPostgresServer() }
        let schema = "contract_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let configuration = try PostgresConfiguration.resolve(url: base + (base.contains("?") ? "&" : "?") + "schema=" + schema)
        let backend = try PostgresBackend(configuration: configuration, mode: .create)
        return StoreUnderTest(
            store: RecordStore(backend: backend),
            openHandle: { RecordStore(backend: try PostgresBackend(configuration: configuration, mode: .write)) },
            remove: { try? backend.drop() })
    }
}
