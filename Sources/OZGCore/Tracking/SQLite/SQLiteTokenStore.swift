import Foundation
import GRDB

extension SQLiteStore: TokenStore {
    /// The schema of the token table, registered with the store's migrator as its own version.
    static func registerTokenMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-access-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE access_token (
                        name TEXT NOT NULL PRIMARY KEY,
                        scope TEXT,                   -- a region key; NULL for the whole country
                        role TEXT NOT NULL,           -- read, write or admin
                        hash BLOB NOT NULL UNIQUE,    -- SHA-256 of the secret; the secret is never stored
                        created_at INTEGER NOT NULL   -- milliseconds since 1970, UTC
                    );
                    """)
        }
    }

    public func addToken(_ token: AccessToken) throws {
        try tokenAccess(write: true) { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM access_token WHERE name = ?", arguments: [token.name]) == true {
                throw TokenStoreError.duplicateName(token.name)
            }
            try db.execute(
                sql: "INSERT INTO access_token (name, scope, role, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    token.name, token.scope?.description, token.role.rawValue, Data(token.hash),
                    Int64((token.createdAt.timeIntervalSince1970 * 1000).rounded()),
                ])
        }
    }

    public func tokens() throws -> [AccessToken] {
        try tokenAccess(write: false) { db in
            try Row.fetchAll(db, sql: "SELECT name, scope, role, hash, created_at FROM access_token ORDER BY name").compactMap(Self.token)
        }
    }

    public func token(hash: [UInt8]) throws -> AccessToken? {
        try tokenAccess(write: false) { db in
            // Prepared once per connection: the service looks a token up for every request.
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT name, scope, role, hash, created_at FROM access_token WHERE hash = ?"),
                arguments: [Data(hash)]
            ).flatMap(Self.token)
        }
    }

    public func revokeToken(named name: String) throws {
        try tokenAccess(write: true) { db in
            try db.execute(sql: "DELETE FROM access_token WHERE name = ?", arguments: [name])
            if db.changesCount == 0 { throw TokenStoreError.unknownName(name) }
        }
    }

    /// A token from a row; `nil` for a row this version cannot read (an unknown role), which then grants nothing.
    private static func token(_ row: Row) -> AccessToken? {
        guard let role = TokenRole(rawValue: row["role"]) else { return nil }
        let scopeText: String? = row["scope"]
        let scope = scopeText.flatMap { try? RegionKey($0) }
        if scopeText != nil && scope == nil { return nil }
        let hash: Data = row["hash"]
        let millis: Int64 = row["created_at"]
        return AccessToken(
            name: row["name"], scope: scope, role: role, hash: [UInt8](hash),
            createdAt: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    private func tokenAccess<T>(write: Bool, _ body: (Database) throws -> T) throws -> T {
        do {
            return write ? try queue.write(body) : try queue.read(body)
        } catch let error as DatabaseError {
            throw Self.storeError(error, path: path)
        }
    }
}
