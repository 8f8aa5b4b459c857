import Crypto
public import Foundation
public import OZGCore

/// Access tokens: their secrets, hashes and what they allow.
public enum AccessTokens {
    /// A new random secret: `ozgt_` and 64 hexadecimal digits (256 bits from the system's secure generator).
    public static func newSecret() -> String {
        let key = SymmetricKey(size: .bits256)
        let hex = key.withUnsafeBytes { bytes in bytes.map { String(format: "%02x", $0) }.joined() }
        return "ozgt_" + hex
    }

    /// The SHA-256 hash of a secret, as stored.
    public static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Data(secret.utf8))) }

    /// Creates a token and stores its hash; returns the secret, which is shown once and never stored.
    /// - Parameters:
    ///   - name: who holds it (the actor in the history); unique.
    ///   - scope: the unit it may write, with every unit below it (`nil`: the whole country).
    ///   - role: what it may do.
    ///   - store: where tokens are kept.
    ///   - catalogue: the registry the scope must be in.
    /// - Throws: ``InputError`` for an empty name or a scope outside the registry, ``TokenStoreError`` for a
    ///   name in use.
    public static func create(
        name: String, scope: RegionKey?, role: TokenRole, in store: any TokenStore, catalogue: Catalogue, now: Date = Date()
    ) throws -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw InputError(field: "name", message: "empty: expected the token holder's name") }
        if trimmed.count > 200 { throw InputError(field: "name", message: "\(trimmed.quotedForMessage) is too long: expected at most 200 characters") }
        let region = try RegionScope(scope, in: catalogue.regions).region
        let secret = newSecret()
        try store.addToken(AccessToken(name: trimmed, scope: region?.key, role: role, hash: hash(secret), createdAt: now))
        return secret
    }

    /// Whether two hashes are equal, in time that does not depend on where they differ.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}

/// What the request's token may write.
struct WriteAccess: Sendable {
    let token: AccessToken
    /// The units it may write; `nil` for everything (admin, or a write token for the whole country).
    let scope: RegionScope?

    init(token: AccessToken, catalogue: Catalogue) throws(Problem) {
        self.token = token
        switch token.role {
        case .read:
            throw Problem.forbidden("the token \(token.name.quotedForMessage) may only read: nothing was written")
        case .admin:
            scope = nil
        case .write:
            guard let key = token.scope else {
                scope = nil
                return
            }
            do {
                scope = try RegionScope(key, in: catalogue.regions)
            } catch {
                throw Problem.forbidden(
                    "the scope \(key) of the token \(token.name.quotedForMessage) is not in the territory edition: nothing was written")
            }
        }
    }

    /// Whether the token may write the records of `region`.
    func allows(_ region: RegionKey) -> Bool { scope?.contains(region) ?? true }

    /// A name for messages: "08115 (Böblingen)" or "the whole country".
    var scopeName: String { scope?.name ?? "Deutschland" }

    /// Refuses a write to `region` when it lies outside the token's scope.
    func check(_ region: RegionKey, line: Int? = nil) throws(Problem) {
        guard allows(region) else { throw outside(region, line: line) }
    }

    func outside(_ region: RegionKey, line: Int?) -> Problem {
        let place = line.map { "line \($0): " } ?? ""
        var problem = Problem.forbidden(
            "\(place)region \(region) lies outside the scope \(scopeName) of the token \(token.name.quotedForMessage): nothing was written")
        if let line {
            problem.errors = [Problem.Issue(file: "body", line: line, field: "region", message: "region \(region) lies outside the token's scope \(scopeName)", text: "body:\(line): region: region \(region) lies outside the token's scope \(scopeName)")]
            problem.total = 1
        }
        return problem
    }
}

/// Reads import rows and stops the import at the first row outside the token's scope (so that it writes nothing).
struct ScopedSource: RecordSource {
    let base: any RecordSource
    let access: WriteAccess

    var file: String { base.file }

    func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try base.forEachRow { result in
            if case .success(let row) = result, !access.allows(row.key.region) {
                throw access.outside(row.key.region, line: row.line)
            }
            try body(result)
        }
    }
}
