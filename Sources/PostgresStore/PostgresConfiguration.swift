public import OZGCore

/// Where and how to connect to a PostgreSQL server, and which schema holds the store: a parsed
/// `postgresql://` URL completed by libpq's conventions.
///
/// The library takes everything as values: ``resolve(url:environment:passwordFile:)`` is given the environment
/// variables and the contents of the password file by its caller (the CLI reads `PGHOST`, `PGPORT`, `PGUSER`,
/// `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE` and `~/.pgpass`). The password is kept out of ``description`` and
/// every message: `postgresql://user@host:port/db?schema=…` is what people see.
public struct PostgresConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// libpq's `sslmode`.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Never TLS.
        case disable
        /// TLS if the server offers it (treated like `prefer`).
        case allow
        /// TLS if the server offers it, else plain (libpq's default).
        case prefer
        /// TLS, without checking the certificate.
        case require
        /// TLS with a certificate signed by a trusted authority, any host name.
        case verifyCA = "verify-ca"
        /// TLS with a certificate signed by a trusted authority for the host connected to.
        case verifyFull = "verify-full"
    }

    /// The host name or address, or the directory holding the server's Unix socket (when it starts with `/`).
    public var host: String
    /// The TCP port (also names the socket file in a socket directory).
    public var port: Int
    /// The role to log in as.
    public var user: String
    /// The password, if any (from the URL, `PGPASSWORD` or the password file).
    public var password: String?
    /// The database.
    public var database: String
    /// Whether and how to use TLS.
    public var sslMode: SSLMode
    /// A file of trusted certificate authorities (PEM) for `verify-ca` / `verify-full`; the system's when `nil`.
    public var sslRootCertificate: String?
    /// The PostgreSQL schema that holds the store's tables (default `ozgtrack`).
    public var schema: String
    /// Seconds to wait for a connection.
    public var connectTimeout: Int

    /// The default schema.
    public static let defaultSchema = "ozgtrack"

    public init(
        host: String = "localhost", port: Int = 5432, user: String, password: String? = nil, database: String? = nil,
        sslMode: SSLMode = .prefer, sslRootCertificate: String? = nil, schema: String = Self.defaultSchema,
        connectTimeout: Int = 10
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database ?? user
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
        self.schema = schema
        self.connectTimeout = connectTimeout
    }

    /// Whether `text` names a PostgreSQL database (`postgresql://` or `postgres://`) rather than a file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Whether the server is reached through a Unix socket.
    public var usesSocket: Bool { host.hasPrefix("/") }

    /// The path of the server's socket file, for a socket directory.
    public var socketPath: String { host + "/.s.PGSQL.\(port)" }

    /// The URL without the password: safe for messages and logs.
    public var description: String {
        let hostPart = usesSocket ? "" : (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
        var query = ["schema=\(schema)"]
        if usesSocket { query.insert("host=\(host)", at: 0) }
        if sslMode != .prefer { query.insert("sslmode=\(sslMode.rawValue)", at: 0) }
        return "postgresql://\(percentEncoded(user))@\(hostPart)/\(percentEncoded(database))?" + query.joined(separator: "&")
    }

    /// Parses `url` and completes it the way libpq does.
    ///
    /// Values in the URL win; missing ones come from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`,
    /// `PGSSLMODE` in `environment`, then libpq's defaults (host `localhost`, port 5432, the user `USER` names,
    /// the database named like the user, `sslmode=prefer`). A missing password is looked up in `passwordFile`
    /// (the contents of `~/.pgpass`: `host:port:database:user:password` lines, `*` matches anything).
    /// - Throws: ``StoreError`` naming the part of the URL that is wrong (never the password).
    public static func resolve(url: String, environment: [String: String] = [:], passwordFile: String? = nil)
        throws(StoreError) -> PostgresConfiguration
    {
        let parts = try URLParts(url)
        func env(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        let host = parts.parameters["host"] ?? parts.host ?? env("PGHOST") ?? "localhost"
        if host.contains(",") {
            throw StoreError("\(parts.redacted): several hosts are not supported: expected one host")
        }
        let portText = parts.parameters["port"] ?? parts.port ?? env("PGPORT") ?? "5432"
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw StoreError("\(parts.redacted): port '\(portText)' is not a port number: expected 1 to 65535")
        }
        guard let user = parts.parameters["user"] ?? parts.user ?? env("PGUSER") ?? env("USER") ?? env("LOGNAME") else {
            throw StoreError("\(parts.redacted): no user name: give one in the URL (postgresql://USER@HOST/DB)")
        }
        let database = parts.parameters["dbname"] ?? parts.database ?? env("PGDATABASE") ?? user
        let modeText = parts.parameters["sslmode"] ?? env("PGSSLMODE") ?? "prefer"
        guard let sslMode = SSLMode(rawValue: modeText) else {
            throw StoreError(
                "\(parts.redacted): sslmode '\(modeText)' is not known: expected "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let schema = parts.parameters["schema"] ?? defaultSchema
        guard isIdentifier(schema) else {
            throw StoreError(
                "\(parts.redacted): schema '\(schema)' is not a plain name: expected lower-case letters, digits and _, "
                    + "starting with a letter or _, at most 63 characters")
        }
        var timeout = 10
        if let text = parts.parameters["connect_timeout"] ?? env("PGCONNECT_TIMEOUT") {
            guard let value = Int(text), value >= 0 else {
                throw StoreError("\(parts.redacted): connect_timeout '\(text)' is not a number of seconds")
            }
            timeout = value == 0 ? 10 : max(value, 2)
        }
        var password = parts.parameters["password"] ?? parts.password ?? env("PGPASSWORD")
        if password == nil, let passwordFile {
            password = PasswordFile(passwordFile).password(
                host: host.hasPrefix("/") ? "localhost" : host, port: port, database: database, user: user)
        }
        return PostgresConfiguration(
            host: host, port: port, user: user, password: password, database: database, sslMode: sslMode,
            sslRootCertificate: parts.parameters["sslrootcert"] ?? env("PGSSLROOTCERT"), schema: schema,
            connectTimeout: timeout)
    }

    /// Whether `name` can be used as a schema name without quoting.
    static func isIdentifier(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        func letter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_") }
        return letter(first) && bytes.allSatisfy { letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

/// The pieces of a `postgresql://` URL, percent-decoded.
struct URLParts {
    var user: String?
    var password: String?
    var host: String?
    var port: String?
    var database: String?
    var parameters: [String: String] = [:]
    /// The URL with the password replaced, for messages.
    var redacted: String

    static let knownParameters: Set<String> = [
        "host", "port", "user", "password", "dbname", "sslmode", "sslrootcert", "schema", "connect_timeout",
        "application_name",
    ]

    init(_ url: String) throws(StoreError) {
        redacted = Self.redact(url)
        var rest = Substring(url)
        if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else {
            throw StoreError("\(redacted) is not a PostgreSQL URL: expected postgresql://USER@HOST:PORT/DATABASE")
        }
        if let question = rest.firstIndex(of: "?") {
            let query = rest[rest.index(after: question)...]
            rest = rest[..<question]
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let (name, value) =
                    pair.firstIndex(of: "=").map { (pair[..<$0], pair[pair.index(after: $0)...]) } ?? (pair, "")
                let key = try Self.decoded(name, redacted)
                guard Self.knownParameters.contains(key) else {
                    throw StoreError(
                        "\(redacted): the parameter '\(key)' is not known: expected "
                            + Self.knownParameters.sorted().joined(separator: ", "))
                }
                parameters[key] = try Self.decoded(value, redacted)
            }
        }
        var authority = rest
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let name = rest[rest.index(after: slash)...]
            if !name.isEmpty { database = try Self.decoded(name, redacted) }
        }
        if let at = authority.lastIndex(of: "@") {
            let info = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = try Self.decoded(info[..<colon], redacted)
                password = try Self.decoded(info[info.index(after: colon)...], redacted)
            } else if !info.isEmpty {
                user = try Self.decoded(info, redacted)
            }
        }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw StoreError("\(redacted): the host '\(authority)' lacks its closing ']'")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { port = String(after.dropFirst()) }
        } else if let colon = authority.lastIndex(of: ":"), !authority[..<colon].contains(",") {
            let name = authority[..<colon]
            if !name.isEmpty { host = try Self.decoded(name, redacted) }
            port = String(authority[authority.index(after: colon)...])
        } else if !authority.isEmpty {
            host = try Self.decoded(authority, redacted)
        }
        if port?.isEmpty == true { port = nil }
        if user?.isEmpty == true { user = nil }
    }

    /// The URL with any password (in the user part or the `password` parameter) replaced by `***`.
    static func redact(_ url: String) -> String {
        var text = url
        if let scheme = text.range(of: "://") {
            let afterScheme = text[scheme.upperBound...]
            let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
            let authority = text[scheme.upperBound..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                text.replaceSubrange(text.index(after: colon)..<at, with: "***")
            }
        }
        if let question = text.firstIndex(of: "?") {
            let query = text[text.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map { pair in
                pair.hasPrefix("password=") ? "password=***" : String(pair)
            }
            text = String(text[...question]) + query.joined(separator: "&")
        }
        return text
    }

    /// Percent-decodes a URL part.
    static func decoded(_ text: Substring, _ redacted: String) throws(StoreError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        func hex(_ byte: UInt8?) -> UInt8? {
            guard let byte else { return nil }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = hex(iterator.next()), let low = hex(iterator.next()) else {
                    throw StoreError("\(redacted): a '%' is not followed by two hexadecimal digits")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw StoreError("\(redacted): a percent-encoded part is not UTF-8")
        }
        return decoded
    }
}

/// The contents of a libpq password file (`~/.pgpass`): lines `hostname:port:database:username:password`,
/// each of the first four may be `*`; `\:` and `\\` escape; lines starting with `#` are comments.
struct PasswordFile {
    private var entries: [[String]] = []

    init(_ contents: String) {
        for line in contents.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if line.hasPrefix("#") { continue }
            var fields: [String] = []
            var field = ""
            var escaped = false
            for character in line {
                if escaped {
                    field.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" && fields.count < 4 {
                    fields.append(field)
                    field = ""
                } else {
                    field.append(character)
                }
            }
            fields.append(field)
            if fields.count == 5 { entries.append(fields) }
        }
    }

    /// The password of the first line that matches, if any.
    func password(host: String, port: Int, database: String, user: String) -> String? {
        let wanted = [host, String(port), database, user]
        for entry in entries where zip(entry.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) {
            return entry[4]
        }
        return nil
    }
}

private func percentEncoded(_ text: String) -> String {
    var result = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            result.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let digits = Array("0123456789ABCDEF")
            result += "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
        }
    }
    return result
}

extension PostgresConfiguration: CustomDebugStringConvertible, CustomReflectable {
    /// The same as ``description``: no password.
    public var debugDescription: String { description }

    /// Reflection (`dump`, `String(reflecting:)`) shows the URL without the password.
    public var customMirror: Mirror { Mirror(self, children: ["url": description]) }
}
