import Foundation
import Logging
import OZGCore
import PostgresNIO

/// One connection to the server, driven synchronously through a ``Bridge``.
///
/// Not thread-safe by itself: ``PostgresStore`` runs one operation at a time on it.
final class Session: @unchecked Sendable {
    let bridge: Bridge
    let configuration: PostgresConfiguration
    let connection: PostgresConnection
    /// Fails the waits on `connection` when it closes.
    let watch: ConnectionWatch
    /// The server's encoding, when a query already asked for it (the store's version check does); `nil` otherwise.
    var serverEncoding: String?
    /// The statements sent by the session's user so far (``execute(_:_:)``, ``rows(_:_:_:)``, ``send(_:)``,
    /// ``startCopy(into:columns:_:)``; a stream's `FETCH`es, sent from the event loop, are not counted): each is a
    /// round trip, except a `send` or a COPY on its way, which overlap with the next. The tests count look-ups by it.
    private(set) var statementsSent = 0
    /// postgres-nio logs nothing through this logger: the client never writes to the terminal, and no log line
    /// can carry a connection's password.
    static let logger = Logger(label: "ozgtrack.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    private init(bridge: Bridge, configuration: PostgresConfiguration, connection: PostgresConnection) {
        self.bridge = bridge
        self.configuration = configuration
        self.connection = connection
        watch = ConnectionWatch(connection.closeFuture)
    }

    /// Connects and logs in.
    static func connect(_ configuration: PostgresConfiguration, bridge: Bridge) throws(StoreError) -> Session {
        let tls: PostgresConnection.Configuration.TLS
        do {
            tls = try makeTLS(configuration)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError("\(configuration): the TLS settings cannot be used (\(error))")
        }
        var settings: PostgresConnection.Configuration
        if configuration.usesSocket {
            settings = .init(
                unixSocketPath: configuration.socketPath, username: configuration.user, password: configuration.password,
                database: configuration.database)
        } else {
            settings = .init(
                host: configuration.host, port: configuration.port, username: configuration.user,
                password: configuration.password, database: configuration.database, tls: tls)
        }
        settings.options.connectTimeout = .seconds(Int64(configuration.connectTimeout))
        // Settings every transaction of the session wants go in the start-up packet, which costs no round trip:
        // - cursor plans for whole results (every cursor is read to its end; this was a `SET LOCAL` at the start of
        //   each read transaction, one round trip of every `status`);
        // - no JIT compilation: the planner cannot estimate `region % 16 <> 8` (the records above the Gemeinde
        //   level, which `status` reads), takes it for nearly the whole table, and the server then compiled that
        //   query for 34 ms (server log, national store) before returning its few rows — the most of `status`'s gap
        //   to SQLite. The national CSV report took as long with JIT as without (three alternating pairs, load 8–9).
        //   Whole-table cursors switch it on for their plan (``PostgresReader/versions(_:)``).
        settings.options.additionalStartupParameters = [
            ("application_name", "ozgtrack"), ("cursor_tuple_fraction", "1.0"), ("jit", "off"),
        ]
        // The server name for TLS (SNI and, with verify-full, the name the certificate must carry) is the host, as
        // postgres-nio derives it; an IP address is not a valid SNI name, and then the certificate is checked
        // against the address (its IP entries), as libpq does.
        let frozen = settings
        do {
            let connection = try bridge.run {
                try await PostgresConnection.connect(on: bridge.loop, configuration: frozen, id: 1, logger: Session.logger)
            }
            return Session(bridge: bridge, configuration: configuration, connection: connection)
        } catch {
            throw Failure.message(for: error, configuration: configuration, during: .connect)
        }
    }

    private static func makeTLS(_ configuration: PostgresConfiguration) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch configuration.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            tls.certificateVerification = .none
        case .require:
            // As in libpq: with a root certificate named, `require` checks the certificate like `verify-ca`.
            tls.certificateVerification = configuration.sslRootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA:
            tls.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tls.certificateVerification = .fullVerification
        }
        if let file = configuration.sslRootCertificate {
            tls.trustRoots = .file(file)
        }
        let context = try NIOSSLContext(configuration: tls)
        switch configuration.sslMode {
        case .allow, .prefer: return .prefer(context)
        default: return .require(context)
        }
    }

    /// Runs one statement and discards its rows.
    func execute(_ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws {
        statementsSent += 1
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let connection = self.connection
        try bridge.run(failingOn: watch) {
            try Self.checkOpen(connection)
            _ = try await connection.query(query, logger: Session.logger).collect()
        }
    }

    /// Sends one statement without waiting for its answer: statements sent after it on this connection queue
    /// behind it (postgres-nio runs one at a time, in order), and its outcome is dropped. Only for a statement whose
    /// failure changes nothing: the `COMMIT` of a read-only transaction, whose rows were already read (a lost
    /// connection ends that transaction just the same, and the next statement reconnects).
    func send(_ sql: String) {
        statementsSent += 1
        let query = PostgresQuery(unsafeSQL: sql)
        let connection = self.connection
        bridge.start {
            guard !connection.isClosed else { return }
            _ = try? await connection.query(query, logger: Session.logger).collect()
        }
    }

    /// Fails with ``ConnectionLost`` when the connection has closed. Called on the event loop right before a query
    /// or a COPY is handed to the connection: postgres-nio 1.33.2 writes a request to a closed channel without
    /// failing it, so the request's promise or continuation is never completed — a query then waits forever, and
    /// `copyFrom` leaks its `CheckedContinuation`, which the Swift runtime reports on stderr ("SWIFT TASK
    /// CONTINUATION MISUSE … leaked its continuation"). On the event loop nothing can close the channel between
    /// this check and that write, since both run in the same turn of the loop.
    static func checkOpen(_ connection: PostgresConnection) throws {
        if connection.isClosed { throw ConnectionLost() }
    }

    /// Runs a query and returns its rows, decoded on the event loop by `decode`.
    func rows<T: Sendable>(_ sql: String, _ binds: PostgresBindings = PostgresBindings(), _ decode: @escaping @Sendable (PostgresRow) throws -> T)
        throws -> [T]
    {
        statementsSent += 1
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        let connection = self.connection
        return try bridge.run(failingOn: watch) {
            try Self.checkOpen(connection)
            var result: [T] = []
            for try await row in try await connection.query(query, logger: Session.logger) {
                result.append(try decode(row))
            }
            return result
        }
    }

    /// Starts sending `data` (rows of ``CopyRows``, binary `COPY` format) into `table`; the box receives the outcome.
    func startCopy(into table: String, columns: [String], _ data: ByteBuffer) -> ResultBox<Void> {
        statementsSent += 1
        let connection = self.connection
        let box = ResultBox<Void>()
        let target = Self.binaryCopyTarget(table, columns: columns)
        let watch = self.watch
        guard watch.add(box) else {
            box.set(.failure(ConnectionLost()))
            return box
        }
        bridge.start {
            defer { watch.remove(box) }
            do {
                try Self.checkOpen(connection)
                try await connection.copyFrom(table: target, logger: Session.logger) { writer in
                    try await writer.write(ByteBuffer(bytes: CopyRows.header))
                    try await writer.write(data)
                }
                box.set(.success(()))
            } catch {
                box.set(.failure(error))
            }
        }
        return box
    }

    /// What to pass as `table` to postgres-nio's `copyFrom` for a `COPY` in binary format.
    ///
    /// postgres-nio 1.33 offers only the text format: it writes `COPY "<table>"(<columns>) FROM STDIN WITH (FORMAT
    /// text)` and inserts `table` as passed (documented). So the statement is completed here — the quote closed, the
    /// columns, `WITH (FORMAT binary)` — and the library's own tail after it becomes a comment:
    /// `COPY "record_version"("region",…) FROM STDIN WITH (FORMAT binary) --" FROM STDIN WITH (FORMAT text)`.
    /// `table` and `columns` are this module's constants, never input. The binary format spares the server the
    /// parsing of every row (see ``CopyRows``). Should a later postgres-nio build the statement differently, the
    /// server rejects it and every write fails in the tests, loudly.
    static func binaryCopyTarget(_ table: String, columns: [String]) -> String {
        table + "\"(" + columns.map { "\"\($0)\"" }.joined(separator: ",") + ") FROM STDIN WITH (FORMAT binary) --"
    }

    /// Whether the connection is still open.
    var isClosed: Bool { connection.isClosed }

    /// Closes the connection (a transaction still open is rolled back by the server).
    func close() {
        let connection = self.connection
        try? bridge.run { try await connection.close() }
    }
}

/// A value of a result cell, decoded from postgres-nio's binary format without going through `PostgresDecodable`.
enum Cell {
    static func int(_ cell: PostgresCell) -> Int? {
        guard var bytes = cell.bytes else { return nil }
        switch bytes.readableBytes {
        case 8: return bytes.readInteger(as: Int64.self).map(Int.init)
        case 4: return bytes.readInteger(as: Int32.self).map(Int.init)
        case 2: return bytes.readInteger(as: Int16.self).map(Int.init)
        default: return nil
        }
    }

    static func text(_ cell: PostgresCell) -> String? {
        guard let bytes = cell.bytes else { return nil }
        return bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes)
    }
}

/// What was being done when the server or the connection failed: chooses the words of the message.
enum Operation {
    case connect, read, write
}

/// Turns client and server errors into one clear ``StoreError``, naming the server without the password.
enum Failure {
    /// SQLSTATE codes the store reacts to.
    enum State {
        static let invalidPassword = "28P01"
        static let invalidAuthorization = "28000"
        static let unknownDatabase = "3D000"
        static let lockNotAvailable = "55P03"
        static let insufficientPrivilege = "42501"
        static let diskFull = "53100"
        static let adminShutdown = "57P01"
        static let crashShutdown = "57P02"
        static let cannotConnectNow = "57P03"
        static let readOnlyTransaction = "25006"
        static let tooManyConnections = "53300"
        static let undefinedTable = "42P01"
        static let invalidSchemaName = "3F000"
    }

    static func message(for error: any Error, configuration: PostgresConfiguration, during operation: Operation) -> StoreError {
        if let error = error as? StoreError { return error }
        let server = configuration.description
        let nothing = operation == .write ? ": nothing was written" : ""
        if error is ConnectionLost { return StoreError("\(server): the connection to the server was lost\(nothing)") }
        guard let error = error as? PSQLError else {
            if error is CancellationError { return StoreError("\(server): the operation was cancelled\(nothing)") }
            return StoreError("\(server): \(String(describing: error))\(nothing)")
        }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let text = error.serverInfo?[.message] ?? "error"
            switch state {
            case State.invalidPassword, State.invalidAuthorization:
                return StoreError(
                    "\(server): the server refused the login of '\(configuration.user)' (\(text)): check the user name and password")
            case State.unknownDatabase:
                return StoreError("\(server): the database '\(configuration.database)' does not exist")
            case State.lockNotAvailable:
                return StoreError("\(server) stayed locked by another process for too long\(nothing); try again")
            case State.insufficientPrivilege, State.readOnlyTransaction:
                return StoreError("\(server): permission denied (\(text))\(nothing)")
            case State.diskFull:
                return StoreError("\(server): the server's disk is full\(nothing)")
            case State.adminShutdown, State.crashShutdown, State.cannotConnectNow:
                return StoreError("\(server): the server is shutting down or starting up (\(text))\(nothing)")
            case State.tooManyConnections:
                return StoreError("\(server): the server has no free connection slot (\(text)); try again")
            default:
                return StoreError("\(server): \(text) (SQLSTATE \(state))\(nothing)")
            }
        case .authMechanismRequiresPassword:
            return StoreError("\(server): the server asks for a password for '\(configuration.user)' and none was given")
        case .unsupportedAuthMechanism, .saslError:
            return StoreError("\(server): the login of '\(configuration.user)' failed (authentication method not supported or refused)")
        case .sslUnsupported:
            return StoreError("\(server): the server does not offer TLS, which sslmode=\(configuration.sslMode.rawValue) asks for")
        case .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest:
            return StoreError("\(server): the TLS handshake failed")
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return StoreError("\(server): the connection to the server was lost\(nothing)")
        case .connectionError:
            if operation != .connect {
                return StoreError("\(server): the connection to the server was lost\(nothing)")
            }
            return StoreError("\(server): cannot connect: \(connectionProblem(error.underlying, configuration))")
        default:
            return StoreError("\(server): \(error.code)\(nothing)")
        }
    }

    /// Why a connection could not be made, in words.
    static func connectionProblem(_ error: (any Error)?, _ configuration: PostgresConfiguration) -> String {
        var cause = error
        if let failure = cause as? NIOConnectionError {
            if failure.dnsAError != nil || failure.dnsAAAAError != nil {
                return "the host name '\(configuration.host)' is not known"
            }
            cause = failure.connectionErrors.first?.error
        }
        if let channel = cause as? ChannelError, case .connectTimeout = channel {
            return "no answer within \(configuration.connectTimeout) s"
        }
        if let io = cause as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED:
                return configuration.usesSocket
                    ? "no server is listening on the socket \(configuration.socketPath)"
                    : "connection refused: no server is listening on \(configuration.host):\(configuration.port)"
            case ENOENT:
                return "there is no socket \(configuration.socketPath)"
            case ETIMEDOUT:
                return "the connection timed out"
            default:
                return "\(String(cString: strerror(io.errnoCode)))"
            }
        }
        if let ssl = cause as? NIOSSLExtraError, ssl == .failedToValidateHostname {
            return "the server's TLS certificate is not valid for the host name '\(configuration.host)' (sslmode=verify-full "
                + "checks that the certificate names the host connected to)"
        }
        if let ssl = cause as? NIOSSLError {
            switch configuration.sslMode {
            case .verifyCA, .verifyFull:
                let roots = configuration.sslRootCertificate.map { "the CA certificates in \($0)" } ?? "the system's trusted CAs"
                return "the TLS handshake failed (\(ssl)): with sslmode=\(configuration.sslMode.rawValue) the server's "
                    + "certificate must be signed by \(roots) (sslrootcert)"
            default:
                return "the TLS handshake failed (\(ssl))"
            }
        }
        if let ssl = cause as? NIOSSLExtraError { return "the TLS handshake failed (\(ssl))" }
        return cause.map { String(describing: $0) } ?? "unknown reason"
    }
}
