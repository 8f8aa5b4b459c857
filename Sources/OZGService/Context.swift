import Foundation
public import Hummingbird
import Logging
import NIOCore
import OZGCore
import Synchronization

/// The per-request context: Hummingbird's core plus the token that authenticated the request, if any.
public struct OZGRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's token (`nil` when it sent none).
    var token: AccessToken?
    /// The client's address (the peer of the connection: behind a reverse proxy, the proxy).
    let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Turns every error into an RFC 9457 problem response (Hummingbird's own errors too).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = OZGRequestContext
    let routes: Routes

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = routes.methods(for: request.uri.path), !allowed.contains(request.method) {
                var response = Problem(
                    .methodNotAllowed, type: "method-not-allowed",
                    detail: "\(request.method) is not allowed here: expected \(allowed.map(\.rawValue).joined(separator: ", "))"
                ).response
                response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                return response
            }
            return Problem(error.status, type: "http", detail: error.body ?? error.status.reasonPhrase).response
        } catch {
            return Problem.from(error, inBody: false).response
        }
    }
}

/// Reads `Authorization: Bearer TOKEN`, finds the token by the hash of its secret and applies its rate limit.
/// A request with a token that is unknown (or revoked) is refused with 401 whatever it asks for. The secret is
/// never logged, stored or repeated. Requests without a token (public reads, refused writes) are limited per client
/// address instead — all but `/healthz`, which load balancers poll.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = OZGRequestContext
    let store: ServiceStore
    let workers: Workers
    let limiter: RateLimiter
    /// The limit per client address for requests without a token.
    let anonymous: RateLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            if request.uri.path != "/healthz" {
                let client = context.remoteAddress?.ipAddress ?? "unknown"
                if let wait = anonymous.wait(client) {
                    throw Problem.rateLimited(
                        "too many requests without a token from \(client): try again in \(wait) s, or send a token", retryAfter: wait)
                }
            }
            return try await next(request, context)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header is not 'Bearer TOKEN'")
        }
        let hash = AccessTokens.hash(String(parts[1]).trimmingCharacters(in: .whitespaces))
        let store = self.store
        let found = try await workers.run { try store.withReader { _, tokens in try tokens.token(hash: hash) } }
        guard let token = found, AccessTokens.constantTimeEqual(token.hash, hash) else {
            throw Problem.unauthorized("the token is not known (revoked, or mistyped)")
        }
        if let wait = limiter.wait(token.name) {
            throw Problem.rateLimited(
                "too many requests for the token \(token.name.quotedForMessage): try again in \(wait) s", retryAfter: wait)
        }
        var context = context
        context.token = token
        context.logger[metadataKey: "token"] = .string(token.name)
        return try await next(request, context)
    }
}

/// A token bucket per key (a token's name, or a client's address): `rate` requests per second, at most `burst` at
/// once.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Above this many keys, buckets that have filled up again are dropped (a full bucket is what a new key gets),
    /// so that clients coming from ever new addresses cannot grow the table without end.
    static let prunedAbove = 10_000

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
    }

    /// `nil` when a request of `key` may go ahead now (and counts it); else the whole seconds until it may.
    func wait(_ key: String) -> Int? {
        guard rate > 0 else { return nil }
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + Self.seconds(now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if buckets[key] == nil && buckets.count >= Self.prunedAbove {
                buckets = buckets.filter { $0.value.tokens + Self.seconds(now - $0.value.updated) * rate < burst }
            }
            buckets[key] = bucket
            return allowed ? nil : max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// One route of the service: method, path (Hummingbird's syntax, `{name}` for a parameter) and handler.
struct Route: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let handler: @Sendable (Request, OZGRequestContext) async throws -> Response

    init(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping @Sendable (Request, OZGRequestContext) async throws -> Response) {
        self.method = method
        self.path = path
        self.handler = handler
    }
}

/// The service's paths and their methods, from the routes the router is built from, for 405 answers with an
/// `Allow` header.
struct Routes: Sendable {
    private let table: [(pattern: [String], methods: [HTTPRequest.Method])]

    init(_ routes: [Route]) {
        var table: [(pattern: [String], methods: [HTTPRequest.Method])] = []
        for route in routes {
            let pattern = route.path.split(separator: "/").map { $0.hasPrefix("{") ? "*" : String($0) }
            if let index = table.firstIndex(where: { $0.pattern == pattern }) {
                table[index].methods.append(route.method)
            } else {
                table.append((pattern, [route.method]))
            }
        }
        self.table = table
    }

    /// The methods `path` answers to; `nil` when no route has this path.
    func methods(for path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/").map(String.init)
        for route in table where route.pattern.count == parts.count {
            if zip(route.pattern, parts).allSatisfy({ $0 == "*" || $0 == $1 }) { return route.methods }
        }
        return nil
    }
}
