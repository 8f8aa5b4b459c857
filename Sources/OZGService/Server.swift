import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
public import OZGCore
public import Prometheus

/// `ozgtrack serve`: the HTTP service. It adapts HTTP to the libraries (the same calls the command-line tool
/// makes) and adds only what HTTP needs: tokens and their scopes, limits, problem details, streaming.
public struct OZGServer: Sendable {
    let store: ServiceStore
    let catalogue: Catalogue
    let configuration: ServerConfiguration
    let logger: Logger
    let metrics: PrometheusCollectorRegistry?
    let workers: Workers
    let limiter: RateLimiter
    let anonymousLimiter: RateLimiter
    let cache: ResponseCache
    let statusJSON: StatusJSON

    /// - Parameters:
    ///   - store: where records and tokens are kept.
    ///   - catalogue: the loaded catalogue and region registry.
    ///   - configuration: address and limits.
    ///   - logger: where requests are logged (never with a token's secret).
    ///   - metrics: the registry `/metrics` shows; `nil` leaves `/metrics` out. The caller bootstraps the
    ///     metrics system with it (process-wide state is the caller's business).
    public init(
        store: ServiceStore, catalogue: Catalogue, configuration: ServerConfiguration, logger: Logger,
        metrics: PrometheusCollectorRegistry? = nil
    ) {
        self.store = store
        self.catalogue = catalogue
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.workers = Workers(threads: configuration.storeThreads)
        self.limiter = RateLimiter(rate: configuration.rateLimit, burst: configuration.rateBurst)
        self.anonymousLimiter = RateLimiter(rate: configuration.anonymousRateLimit, burst: configuration.anonymousRateBurst)
        self.cache = ResponseCache(capacity: configuration.cachedDocuments)
        self.statusJSON = StatusJSON(catalogue: catalogue)
    }

    /// Serves until SIGTERM or SIGINT; then stops accepting connections, lets requests in flight finish (an import
    /// commits or rolls back) and returns.
    /// - Parameter onListening: called with the bound host and port once the server accepts connections.
    public func run(onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
        let host = configuration.host
        let port = configuration.port
        let http = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.idleTimeout))))
        let server = try configuration.tls.map { try HTTPServerBuilder.tls(http, tlsConfiguration: $0.configuration) } ?? http
        let app = Application(
            router: makeRouter(),
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "ozgtrack"),
            onServerRunning: { channel in await onListening(host, channel.localAddress?.port ?? port) },
            logger: logger)
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            try? await workers.shutdown()
            throw error
        }
        try await workers.shutdown()
    }

    func makeRouter() -> Router<OZGRequestContext> {
        let routes = self.routes()
        let router = Router(context: OZGRequestContext.self)
        router.add(middleware: ProblemMiddleware(routes: Routes(routes)))
        router.add(middleware: LogRequestsMiddleware(.info))
        if metrics != nil { router.add(middleware: MetricsMiddleware()) }
        router.add(middleware: TokenMiddleware(store: store, workers: workers, limiter: limiter, anonymous: anonymousLimiter))
        for route in routes { router.on(RouterPath(route.path), method: route.method, use: route.handler) }
        return router
    }

    /// Every route of the service, declared once: the router is built from it, and so are the `Allow` headers of
    /// 405 answers.
    func routes() -> [Route] {
        var routes: [Route] = [Route(.get, "/healthz") { _, _ in Response.text("ok\n") }]
        if let metrics {
            routes.append(
                Route(.get, "/metrics") { _, _ in
                    Response(
                        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer())))
                })
        }
        let api = ReadAPI(server: self)
        let write = WriteAPI(server: self)
        let pages = DashboardPages(server: self)
        routes += [
            Route(.get, "/api/v1/openapi.json") { _, _ in
                Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.text)))
            },
            Route(.get, "/api/v1/catalogue") { request, context in try await api.catalogue(request, context) },
            Route(.get, "/api/v1/regions") { request, context in try await api.regions(request, context) },
            Route(.get, "/api/v1/status/{region}") { request, context in try await api.status(request, context) },
            Route(.get, "/api/v1/history/{region}") { request, context in try await api.history(request, context) },
            Route(.get, "/api/v1/diff") { request, context in try await api.diff(request, context) },
            Route(.get, "/api/v1/check") { request, context in try await api.check(request, context) },
            Route(.get, "/api/v1/report") { request, context in try await api.report(request, context, scope: nil) },
            Route(.get, "/api/v1/report/{scope}") { request, context in
                try await api.report(request, context, scope: context.parameters.get("scope"))
            },
            Route(.put, "/api/v1/status/{region}/{ozgId}") { request, context in try await write.set(request, context) },
            Route(.post, "/api/v1/import") { request, context in try await write.importRecords(request, context) },
            Route(.get, "/") { request, context in try await pages.page(request, context, key: nil) },
            Route(.get, "/region/{key}") { request, context in
                try await pages.page(request, context, key: context.parameters.get("key"))
            },
        ]
        return routes
    }

    /// Refuses a read without a token unless reading is public.
    func requireReader(_ context: OZGRequestContext) throws(Problem) {
        if context.token == nil && !configuration.publicRead {
            throw Problem.unauthorized("reading needs a token: send 'Authorization: Bearer TOKEN'")
        }
    }

    /// The write access of the request's token; 401 without a token, 403 for a read-only token.
    func requireWriter(_ context: OZGRequestContext) throws(Problem) -> WriteAccess {
        guard let token = context.token else {
            throw Problem.unauthorized("writing needs a token: send 'Authorization: Bearer TOKEN'")
        }
        return try WriteAccess(token: token, catalogue: catalogue)
    }
}

extension Response {
    /// A plain-text response.
    static func text(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A JSON document, encoded as the command-line tool encodes it.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: try JSON.encode(value) + "\n")))
    }
}

/// Query parameters, parsed by the libraries' parsers; errors name the parameter.
struct Query {
    let request: Request

    /// The parameter's value; `nil` when it is absent. An empty value is an error.
    func text(_ name: String) throws -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        if value.isEmpty { throw InputError(field: name, message: "empty: expected a value or no parameter") }
        return value
    }

    func all(_ name: String) throws -> [String] {
        let values = request.uri.queryParameters.getAll(name)
        if values.contains(where: \.isEmpty) { throw InputError(field: name, message: "empty: expected a value or no parameter") }
        return values
    }

    func parse<T>(_ name: String, _ parse: (String) throws -> T) throws -> T? {
        guard let value = try text(name) else { return nil }
        do {
            return try parse(value)
        } catch let error as InputError {
            var copy = error
            copy.field = name
            throw copy
        }
    }

    func flag(_ name: String) throws -> Bool {
        try parse(name) { value -> Bool in
            switch value {
            case "true": return true
            case "false": return false
            default: throw InputError(message: "\(value.quotedForMessage) is not a truth value: expected true or false")
            }
        } ?? false
    }
}
