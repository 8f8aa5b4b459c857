public import Foundation

/// What a token may do.
public enum TokenRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// Read everything the service shows.
    case read
    /// Read, and write the records of the token's unit and of every unit below it.
    case write
    /// Read and write everything.
    case admin

    /// Parses `read`, `write` or `admin`.
    /// - Throws: ``InputError`` naming the expected roles.
    public init(parsing text: String) throws(InputError) {
        guard let role = TokenRole(rawValue: text.lowercased()) else {
            throw InputError(
                field: "role",
                message: "\(text.quotedForMessage) is not a role: expected one of \(TokenRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = role
    }
}

/// A stored access token: its name, scope and role, and the SHA-256 hash of its secret (never the secret).
public struct AccessToken: Sendable, Hashable {
    /// Who holds the token, e.g. "Kreis Böblingen"; the actor in the history of what it writes. Unique.
    public var name: String
    /// The unit the token may write (with every unit below it); `nil` for the whole country.
    public var scope: RegionKey?
    /// What the token may do.
    public var role: TokenRole
    /// The SHA-256 hash of the secret, 32 bytes.
    public var hash: [UInt8]
    /// When the token was created.
    public var createdAt: Date

    public init(name: String, scope: RegionKey?, role: TokenRole, hash: [UInt8], createdAt: Date) {
        self.name = name
        self.scope = scope
        self.role = role
        self.hash = hash
        self.createdAt = createdAt
    }
}

/// A token operation that cannot be done as asked.
public enum TokenStoreError: DescribedError, Hashable {
    /// A token of this name exists already.
    case duplicateName(String)
    /// No token has this name.
    case unknownName(String)

    public var description: String {
        switch self {
        case .duplicateName(let name):
            "a token named \(name.quotedForMessage) exists already: expected a new name (revoke the old token first)"
        case .unknownName(let name): "no token is named \(name.quotedForMessage): expected a name that 'token list' shows"
        }
    }
}

/// Where access tokens are kept: beside the records, so that every instance of the service sharing a store shares
/// its tokens. Implemented by ``SQLiteStore``; a server database implements it too.
public protocol TokenStore: AnyObject {
    /// Adds a token.
    /// - Throws: ``TokenStoreError/duplicateName(_:)`` when the name is taken, or a ``StoreError``.
    func addToken(_ token: AccessToken) throws

    /// Every token, by name.
    func tokens() throws -> [AccessToken]

    /// The token whose secret hashes to `hash`, if any.
    func token(hash: [UInt8]) throws -> AccessToken?

    /// Removes the token named `name`.
    /// - Throws: ``TokenStoreError/unknownName(_:)`` when there is none, or a ``StoreError``.
    func revokeToken(named name: String) throws
}
