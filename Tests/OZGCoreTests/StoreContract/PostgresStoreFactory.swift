import Foundation
import OZGCore
import PostgresStore
import TestSupport
import Testing

extension StoreFactories {
    /// The PostgreSQL factory, unless a quick run has no server (``PostgresTestServer``).
    static var postgresFactories: [StoreFactory] { PostgresTestServer.enabled ? [postgres] : [] }

    /// A schema of its own on the test server, dropped afterwards.
    static let postgres = StoreFactory(name: "PostgreSQL") {
        let schema = PostgresTestServer.freshSchema(prefix: "contract_", length: 16)
        let configuration = try PostgresConfiguration.resolve(url: try PostgresTestServer.url(schema: schema))
        let backend = try PostgresBackend(configuration: configuration, mode: .create)
        return StoreUnderTest(
            store: RecordStore(backend: backend),
            openHandle: { RecordStore(backend: try PostgresBackend(configuration: configuration, mode: .write)) },
            remove: { try? backend.drop() })
    }
}
