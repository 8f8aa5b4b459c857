import ArgumentParser
import Foundation
import Logging
import Metrics
import OZGCore
import OZGService
import Prometheus
import Synchronization

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service: read API, write API with tokens, dashboard pages, metrics.",
        discussion: """
            Binds to 127.0.0.1:8080 by default. Reading needs a token unless --public-read; writing always needs \
            one ('ozgtrack token create'). SIGTERM or SIGINT: stop accepting, finish the requests in flight (an import \
            commits or rolls back), exit 0. HTTPS: --tls-cert and --tls-key, or a reverse proxy in front (see the README). \
            Requests without a token are limited per client address (--public-rate-limit).
            The API is described at /api/v1/openapi.json.
            """)
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var store: StoreOptions
    @Option(help: "The address to bind.") var host = "127.0.0.1"
    @Option(help: "The TCP port (0: any free port; the chosen one is printed).") var port = 8080
    @Flag(name: .customLong("public-read"), help: "Let anyone read without a token.") var publicRead = false
    @Option(name: .customLong("max-body-mb"), help: "The largest request body in MiB (larger: 413, nothing written).")
    var maxBodyMiB = 1024
    @Option(name: .customLong("rate-limit"), help: "Requests per second per token (0: no limit).") var rateLimit: Double = 50
    @Option(name: .customLong("rate-burst"), help: "Requests a token may make at once above its rate.") var rateBurst = 100
    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle or stalled connection is closed.")
    var idleTimeout = 60
    @Option(
        name: .customLong("public-rate-limit"),
        help: "Requests per second per client address without a token (0: no limit; behind a proxy, limit there).")
    var publicRateLimit: Double = 20
    @Option(name: .customLong("public-rate-burst"), help: "Requests an address may make at once above its rate without a token.")
    var publicRateBurst = 40
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("Serve HTTPS with this PEM certificate chain (with --tls-key).", valueName: "file"))
    var tlsCertificate: String?
    @Option(name: .customLong("tls-key"), help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port takes a number from 0 to 65535") }
        if maxBodyMiB < 1 { throw ValidationError("--max-body-mb takes a number of 1 or more") }
        if rateLimit < 0 { throw ValidationError("--rate-limit takes a number of 0 or more") }
        if rateBurst < 1 { throw ValidationError("--rate-burst takes a number of 1 or more") }
        if idleTimeout < 1 { throw ValidationError("--idle-timeout takes a number of 1 or more") }
        if publicRateLimit < 0 { throw ValidationError("--public-rate-limit takes a number of 0 or more") }
        if publicRateBurst < 1 { throw ValidationError("--public-rate-burst takes a number of 1 or more") }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together: give both or neither") }
    }

    func run() throws {
        // The certificate and key are checked first: a bad file stops the command before anything is opened.
        let tls = try tlsCertificate.map { certificate in try TLSIdentity(certificateFile: certificate, keyFile: tlsKey ?? "") }
        let data = try catalogue.load()
        let database = try store.openWithTokens()
        var configuration = ServerConfiguration()
        configuration.tls = tls
        configuration.host = host
        configuration.port = port
        configuration.publicRead = publicRead
        configuration.maxBodyBytes = maxBodyMiB << 20
        configuration.rateLimit = rateLimit
        configuration.rateBurst = rateBurst
        configuration.idleTimeout = idleTimeout
        configuration.anonymousRateLimit = publicRateLimit
        configuration.anonymousRateBurst = publicRateBurst
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        // SQLite: status documents and other short reads run on read-only connections of their own, in parallel
        // (one connection serialises everything sent through it).
        let path = store.resolvedPath
        var openReader: (@Sendable () throws -> any TrackingStore & TokenStore)?
        if database is SQLiteStore {
            openReader = { @Sendable () throws -> any TrackingStore & TokenStore in try SQLiteStore(path: path, mode: .read) }
        }
        let server = OZGServer(
            store: ServiceStore(database, openReader: openReader), catalogue: data, configuration: configuration,
            logger: Logger(label: "ozgtrack.serve"), metrics: registry)
        let failure = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { host, port in
                    FileHandle.standardOutput.write(Data("listening on \(tls == nil ? "http" : "https")://\(host):\(port)\n".utf8))
                }
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Access tokens for 'ozgtrack serve': create, list, revoke.",
        discussion: """
            Roles: read; write (the token's unit and every unit below it: a Kreis token writes the Kreis and its \
            Gemeinden, never a neighbour); admin. Only a hash of each token is stored, in the database.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a token and print it once (it cannot be shown again).")
        @OptionGroup var catalogue: CatalogueOptions
        @OptionGroup var store: StoreOptions
        @Option(help: "Who holds it; the actor in the history of what it writes.") var name: String
        @Option(help: "The unit it may write, with every unit below it (default: the whole country).") var scope: String?
        @Option(help: "read, write or admin.") var role: String = "read"

        func run() throws {
            let data = try catalogue.load()
            let parsedRole = try parseArgument("--role", role) { try TokenRole(parsing: $0) }
            let key = try scope.map { text in try parseArgument("--scope", text) { try RegionKey($0) } }
            let database = try store.openWithTokens()
            let secret: String
            do {
                secret = try AccessTokens.create(name: name, scope: key, role: parsedRole, in: database, catalogue: data)
            } catch let error as InputError {
                throw InputError.argument(error.field == "name" ? "--name" : "--scope", error)
            }
            try StandardOutput.shared.write(secret + "\n")
            try StandardOutput.shared.flush()
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The tokens: name, scope, role, created (never the secret).")
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: FormatOptions

        struct Item: Encodable {
            var name: String
            var scope: String?
            var role: String
            var createdAt: String
        }

        func run() throws {
            let tokens = try store.openWithTokens().tokens()
            let items = tokens.map {
                Item(name: $0.name, scope: $0.scope?.description, role: $0.role.rawValue, createdAt: Timestamp.string($0.createdAt))
            }
            try Listing.print(items, output: output, headers: ["name", "scope", "role", "created_at"]) {
                [$0.name, $0.scope ?? "", $0.role, $0.createdAt]
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token by name; it stops working at once.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The token's name.") var name: String

        func run() throws {
            try store.openWithTokens().revokeToken(named: name)
            try StandardOutput.shared.write("revoked \(name)\n")
            try StandardOutput.shared.flush()
        }
    }
}
