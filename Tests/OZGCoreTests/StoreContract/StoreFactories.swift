import Foundation
import Testing

@testable import OZGCore

/// Makes fresh, isolated stores of one backend for the store contract suite.
///
/// Every backend is listed in ``StoreFactories/all``; adding a backend is adding its factory there (one line).
struct StoreFactory: Sendable, CustomTestStringConvertible {
    /// The backend's name, shown in test names.
    let name: String
    /// Makes a fresh, empty database and returns it with a way to open further handles on it.
    let make: @Sendable () throws -> StoreUnderTest

    var testDescription: String { name }
}

/// One fresh database under test: a store on it, further handles (for concurrent writers) and its removal.
final class StoreUnderTest: Sendable {
    /// A handle on the database.
    let store: any TrackingStore
    /// Opens another, independent handle on the same database (as another process would).
    let openHandle: @Sendable () throws -> any TrackingStore
    private let remove: @Sendable () -> Void

    init(
        store: any TrackingStore, openHandle: @escaping @Sendable () throws -> any TrackingStore,
        remove: @escaping @Sendable () -> Void
    ) {
        self.store = store
        self.openHandle = openHandle
        self.remove = remove
    }

    deinit { remove() }
}

enum StoreFactories {
    /// Every backend the contract suite runs against.
    static let all: [StoreFactory] = [sqliteFile]

    /// An SQLite file in a temporary directory of its own.
    static let sqliteFile = StoreFactory(name: "SQLite file") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-contract-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try SQLiteStore(path: path, mode: .create)
        return StoreUnderTest(
            store: store, openHandle: { try SQLiteStore(path: path, mode: .write) },
            remove: { try? FileManager.default.removeItem(at: directory) })
    }
}
