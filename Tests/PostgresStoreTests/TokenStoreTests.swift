import Foundation
import OZGCore
import Testing

@testable import PostgresStore

/// The access-token store, stated once and run against every backend that keeps tokens: the SQLite file and the
/// PostgreSQL schema (what `ozgtrack serve` and `ozgtrack token` open).
@Suite("Token store contract", .serialized)
struct TokenStoreTests {
    /// The backends that keep tokens.
    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }

        /// Both, unless a quick run without a PostgreSQL server.
        static var tested: [Backend] { TestServer.enabled ? [.sqlite, .postgres] : [.sqlite] }
    }

    /// A fresh, empty token store, and a way to open another handle on it (as another instance would).
    final class Fixture {
        let store: any TokenStore
        let reopen: () throws -> any TokenStore
        private let cleanup: () -> Void

        init(_ backend: Backend) throws {
            switch backend {
            case .sqlite:
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-tokens-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let path = directory.appendingPathComponent("store.sqlite").path
                store = try SQLiteStore(path: path, mode: .create)
                reopen = { try SQLiteStore(path: path, mode: .write) }
                cleanup = { try? FileManager.default.removeItem(at: directory) }
            case .postgres:
                let test = try TestSchema()
                store = PostgresTrackingStore(backend: try test.backend(.create))
                reopen = { PostgresTrackingStore(backend: try test.backend(.write)) }
                cleanup = { _ = test }
            }
        }

        deinit { cleanup() }
    }

    static func token(
        _ name: String, scope: String? = "08115", role: TokenRole = .write, hash: UInt8 = 1, at millis: Int = 1_750_000_000_123
    ) throws -> AccessToken {
        AccessToken(
            name: name, scope: try scope.map { try RegionKey($0) }, role: role, hash: [UInt8](repeating: hash, count: 32),
            createdAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    @Test("An added token is listed with its name, scope, role, hash and creation time", arguments: Backend.tested)
    func addedTokenIsListedExactly(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let token = try Self.token("Kreis Böblingen")
        try fixture.store.addToken(token)
        #expect(try fixture.store.tokens() == [token])
    }

    @Test("A token for the whole country has no scope", arguments: Backend.tested)
    func wholeCountryTokenHasNoScope(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let token = try Self.token("Ministerium", scope: nil, role: .admin)
        try fixture.store.addToken(token)
        #expect(try fixture.store.tokens().first?.scope == nil)
        #expect(try fixture.store.token(hash: token.hash) == token)
    }

    @Test("A token is found by the hash of its secret, and no other hash finds it", arguments: Backend.tested)
    func tokenIsFoundByHash(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.store.addToken(try Self.token("Kreis Böblingen", hash: 1))
        try fixture.store.addToken(try Self.token("Kreis Esslingen", scope: "08116", hash: 2))
        #expect(try fixture.store.token(hash: [UInt8](repeating: 2, count: 32))?.name == "Kreis Esslingen")
        #expect(try fixture.store.token(hash: [UInt8](repeating: 3, count: 32)) == nil)
    }

    @Test("A taken name is refused and the first token stays as it was", arguments: Backend.tested)
    func takenNameIsRefused(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let first = try Self.token("Kreis Böblingen", hash: 1)
        try fixture.store.addToken(first)
        #expect(throws: TokenStoreError.duplicateName("Kreis Böblingen")) {
            try fixture.store.addToken(try Self.token("Kreis Böblingen", scope: nil, role: .admin, hash: 2))
        }
        #expect(try fixture.store.tokens() == [first])
    }

    @Test("Tokens are listed by name, byte order", arguments: Backend.tested)
    func tokensAreListedByName(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let names = ["Zweckverband", "Amt Süd", "amt Nord", "Äbtissin", "Amt Nord"]
        for (index, name) in names.enumerated() { try fixture.store.addToken(try Self.token(name, hash: UInt8(index + 1))) }
        #expect(try fixture.store.tokens().map(\.name) == ["Amt Nord", "Amt Süd", "Zweckverband", "amt Nord", "Äbtissin"])
    }

    @Test("A revoked token is gone; revoking an unknown name is refused", arguments: Backend.tested)
    func revokedTokenIsGone(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let token = try Self.token("Kreis Böblingen")
        try fixture.store.addToken(token)
        try fixture.store.revokeToken(named: "Kreis Böblingen")
        #expect(try fixture.store.token(hash: token.hash) == nil)
        #expect(try fixture.store.tokens().isEmpty)
        #expect(throws: TokenStoreError.unknownName("Kreis Böblingen")) { try fixture.store.revokeToken(named: "Kreis Böblingen") }
    }

    @Test("Every handle on the store sees a token at once, and its revocation", arguments: Backend.tested)
    func handlesShareTokens(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let other = try fixture.reopen()
        let token = try Self.token("Kreis Böblingen")
        try fixture.store.addToken(token)
        #expect(try other.token(hash: token.hash) == token)
        try other.revokeToken(named: "Kreis Böblingen")
        #expect(try fixture.store.token(hash: token.hash) == nil)
    }

    @Test("Names and scopes survive exactly: quotes, backslashes, control characters, long names", arguments: Backend.tested)
    func hostileNamesSurvive(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let names = ["O'Brien \"Amt\"", "back\\slash\t\ttab", "Zeile\neins", String(repeating: "ß", count: 2_000), "🏛️ Rathaus"]
        for (index, name) in names.enumerated() {
            try fixture.store.addToken(try Self.token(name, scope: index % 2 == 0 ? "08115001" : nil, hash: UInt8(index + 1)))
        }
        for (index, name) in names.enumerated() {
            #expect(try fixture.store.token(hash: [UInt8](repeating: UInt8(index + 1), count: 32))?.name == name)
        }
    }
}

/// What only the PostgreSQL token table does: its migration.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
struct PostgresTokenMigrationTests {
    @Test("A store of schema version 1 (before tokens) gets the token table when opened for writing")
    func versionOneStoreGetsTheTokenTable() throws {
        let test = try TestSchema()
        _ = try test.backend(.create)
        try TestServer.execute("DROP TABLE \"\(test.schema)\".access_token")
        try TestServer.execute("ALTER TABLE \"\(test.schema)\".record_version ALTER COLUMN batch TYPE bigint")
        try TestServer.execute("DELETE FROM \"\(test.schema)\".schema_version WHERE version >= 2")
        let store = PostgresTrackingStore(backend: try test.backend(.write))
        try store.addToken(try TokenStoreTests.token("Kreis Böblingen"))
        #expect(try store.tokens().map(\.name) == ["Kreis Böblingen"])
        #expect(try TestServer.rows("SELECT version::text FROM \"\(test.schema)\".schema_version ORDER BY version") == [["1"], ["2"], ["3"]])
    }

    @Test("The token table's layout is the one the SQLite store has")
    func tokenTableLayout() throws {
        let test = try TestSchema()
        _ = try test.backend(.create)
        let columns = try TestServer.rows(
            "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns "
                + "WHERE table_schema = '\(test.schema)' AND table_name = 'access_token' ORDER BY ordinal_position")
        #expect(
            columns == [
                ["name", "text", "NO"], ["scope", "text", "YES"], ["role", "text", "NO"], ["hash", "bytea", "NO"],
                ["created_at", "bigint", "NO"],
            ])
    }
}
