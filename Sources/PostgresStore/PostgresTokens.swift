import Foundation
public import OZGCore
import PostgresNIO

/// The service's access tokens in the store's schema (table `access_token`, schema version 2): every instance of
/// `ozgtrack serve` on the same database shares them, and a revoked token stops working for all at once. Each
/// operation is one statement in its own transaction; token writes do not take the store's writer lock, since
/// they touch no record or batch.
extension PostgresBackend: TokenStore {
    public func addToken(_ token: AccessToken) throws {
        var binds = PostgresBindings()
        binds.append(token.name)
        binds.append(token.scope?.description)
        binds.append(token.role.rawValue)
        binds.append(ByteBuffer(bytes: token.hash))
        binds.append(Int((token.createdAt.timeIntervalSince1970 * 1000).rounded()))
        // A taken name inserts nothing and returns no row; the unique hash is left to the server (a clash of two
        // random 256-bit secrets is not a case to word).
        let inserted = try tokenAccess(during: .write) { session in
            try session.rows(
                "INSERT INTO \(tokenTable) (name, scope, role, hash, created_at) VALUES ($1, $2, $3, $4, $5) "
                    + "ON CONFLICT (name) DO NOTHING RETURNING 1", binds
            ) { _ in true }
        }
        if inserted.isEmpty { throw TokenStoreError.duplicateName(token.name) }
    }

    public func tokens() throws -> [AccessToken] {
        try tokenAccess(during: .read) { session in
            try session.rows("SELECT name, scope, role, hash, created_at FROM \(tokenTable) ORDER BY name COLLATE \"C\"", PostgresBindings(), Self.token)
        }.compactMap { $0 }
    }

    public func token(hash: [UInt8]) throws -> AccessToken? {
        var binds = PostgresBindings()
        binds.append(ByteBuffer(bytes: hash))
        return try tokenAccess(during: .read) { session in
            try session.rows("SELECT name, scope, role, hash, created_at FROM \(tokenTable) WHERE hash = $1", binds, Self.token)
        }.first ?? nil
    }

    public func revokeToken(named name: String) throws {
        var binds = PostgresBindings()
        binds.append(name)
        let removed = try tokenAccess(during: .write) { session in
            try session.rows("DELETE FROM \(tokenTable) WHERE name = $1 RETURNING 1", binds) { _ in true }
        }
        if removed.isEmpty { throw TokenStoreError.unknownName(name) }
    }

    private var tokenTable: String { Schema.quoted(schema) + ".access_token" }

    /// A token from a row; `nil` for a row this version cannot read (an unknown role or scope), which then grants
    /// nothing — as in the SQLite store.
    @Sendable private static func token(_ row: PostgresRow) -> AccessToken? {
        let cells = row.makeRandomAccess()
        guard let name = Cell.text(cells[0]), let role = Cell.text(cells[2]).flatMap(TokenRole.init(rawValue:)),
            let hash = cells[3].bytes, let millis = Cell.int(cells[4])
        else { return nil }
        let scopeText = Cell.text(cells[1])
        let scope = scopeText.flatMap { try? RegionKey($0) }
        if scopeText != nil && scope == nil { return nil }
        return AccessToken(
            name: name, scope: scope, role: role, hash: Array(hash.readableBytesView),
            createdAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

/// The records and the access tokens of one PostgreSQL store: what `ozgtrack serve` and `ozgtrack token` open.
public final class PostgresTrackingStore: TrackingStore, TokenStore {
    /// The database.
    public let backend: PostgresBackend
    /// The store's rules over it.
    public let records: RecordStore<PostgresBackend>

    public init(backend: PostgresBackend) {
        self.backend = backend
        records = RecordStore(backend: backend)
    }

    public func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T { try records.read(body) }

    @discardableResult
    public func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        try records.write(batch, body)
    }

    public func addToken(_ token: AccessToken) throws { try backend.addToken(token) }

    public func tokens() throws -> [AccessToken] { try backend.tokens() }

    public func token(hash: [UInt8]) throws -> AccessToken? { try backend.token(hash: hash) }

    public func revokeToken(named name: String) throws { try backend.revokeToken(named: name) }
}
