import Foundation
public import Hummingbird
import Logging
import OZGCore
import Synchronization

/// The per-request context: Hummingbird's core plus the token that authenticated the request, if any.
public struct OZGRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's token (`nil` when it sent none).
    var token: AccessToken?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Turns every error into an RFC 9457 problem response (Hummingbird's own errors too).
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = OZGRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = Routes.methods(for: request.uri.path), !allowed.contains(request.method) {
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
/// never logged, stored or repeated.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = OZGRequestContext
    let store: ServiceStore
    let workers: Workers
    let limiter: RateLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header is not 'Bearer TOKEN'")
        }
        let hash = AccessTokens.hash(String(parts[1]).trimmingCharacters(in: .whitespaces))
        let store = self.store
        let found = try await workers.run { try store.tokens.token(hash: hash) }
        guard let token = found, AccessTokens.constantTimeEqual(token.hash, hash) else {
            throw Problem.unauthorized("the token is not known (revoked, or mistyped)")
        }
        if !limiter.allow(token.name) {
            var problem = Problem(.tooManyRequests, type: "rate-limited", detail: "too many requests for the token \(token.name.quotedForMessage): try again shortly")
            problem.retryAfter = 1
            throw problem
        }
        var context = context
        context.token = token
        context.logger[metadataKey: "token"] = .string(token.name)
        return try await next(request, context)
    }
}

/// A token bucket per token name: `rate` requests per second, at most `burst` at once.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
    }

    /// Whether a request of `name` may go ahead now (and counts it).
    func allow(_ name: String) -> Bool {
        guard rate > 0 else { return true }
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            var bucket = buckets[name] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            buckets[name] = bucket
            return allowed
        }
    }
}

/// The service's paths and their methods, for 405 answers with an `Allow` header.
enum Routes {
    static let table: [(pattern: [String], methods: [HTTPRequest.Method])] = [
        (["healthz"], [.get]), (["metrics"], [.get]), (["api", "v1", "openapi.json"], [.get]),
        (["api", "v1", "catalogue"], [.get]), (["api", "v1", "regions"], [.get]),
        (["api", "v1", "status", "*"], [.get]), (["api", "v1", "status", "*", "*"], [.put]),
        (["api", "v1", "history", "*"], [.get]), (["api", "v1", "diff"], [.get]),
        (["api", "v1", "check"], [.get]), (["api", "v1", "report"], [.get]),
        (["api", "v1", "report", "*"], [.get]), (["api", "v1", "import"], [.post]), ([], [.get]),
        (["region", "*"], [.get]),
    ]

    /// The methods `path` answers to; `nil` when no route has this path.
    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/").map(String.init)
        for route in table where route.pattern.count == parts.count {
            if zip(route.pattern, parts).allSatisfy({ $0 == "*" || $0 == $1 }) { return route.methods }
        }
        return nil
    }
}
