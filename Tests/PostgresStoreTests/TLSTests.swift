import Foundation
import OZGCore
import TestSupport
import Testing

@testable import PostgresStore

/// TLS against a real server: each test starts a throwaway cluster with `ssl=on` (`scripts/pg-cluster.sh start
/// --tls`: a certificate for `localhost` only, signed by a CA made with openssl for the cluster) and stops it
/// afterwards; the plain test server stands for a server without TLS.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"), .serialized)
final class TLSTests {
    let cluster: ThrowawayCluster

    init() throws { cluster = try ThrowawayCluster(tls: true) }

    /// Whether the session's connection is encrypted, as the server sees it.
    static func encrypted(_ configuration: PostgresConfiguration) throws -> Bool {
        let bridge = Bridge()
        defer { bridge.shutdown() }
        let session = try Session.connect(configuration, bridge: bridge)
        defer { session.close() }
        let rows = try session.rows("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()") { row in
            Cell.text(row.makeRandomAccess()[0])
        }
        return rows == ["true"]
    }

    @Test("sslmode=require connects over TLS")
    func requireConnectsOverTLS() throws {
        #expect(try Self.encrypted(try cluster.configuration("sslmode=require")))
    }

    @Test("sslmode=verify-full with the CA (sslrootcert) and the certificate's host name connects, and the store works")
    func verifyFullWithTheCAConnects() throws {
        let configuration = try cluster.configuration("sslmode=verify-full&host=localhost&sslrootcert=\(cluster.caFile)")
        #expect(try Self.encrypted(configuration))
        let store = RecordStore(backend: try PostgresBackend(configuration: configuration, mode: .create))
        try store.write(BatchInfo(actor: "test", source: "tls", command: "set")) { writer in
            _ = try writer.put(PostgresBackendTests.key, RecordValues(status: .online))
        }
        #expect(try store.read { try $0.current(PostgresBackendTests.key, asOf: nil)?.values.status } == .online)
    }

    @Test("PGSSLMODE and PGSSLROOTCERT stand in for the URL's sslmode and sslrootcert")
    func environmentSelectsVerifyFull() throws {
        let url = cluster.url + "?host=localhost"
        let configuration = try PostgresConfiguration.resolve(
            url: url, environment: ["PGSSLMODE": "verify-full", "PGSSLROOTCERT": cluster.caFile])
        #expect(configuration.sslMode == .verifyFull)
        #expect(try Self.encrypted(configuration))
    }

    @Test("sslmode=verify-full refuses a certificate that does not name the host, saying so, without the password")
    func verifyFullRefusesAWrongHostName() throws {
        let configuration = try cluster.configuration("sslmode=verify-full&sslrootcert=\(cluster.caFile)")
        let message = try Self.failure(configuration)
        #expect(message.contains("certificate is not valid for the host name '127.0.0.1'"), "\(message)")
        #expect(!message.contains(try #require(configuration.password)))
    }

    @Test("sslmode=verify-full refuses a certificate of a CA it does not trust, saying so, without the password")
    func verifyFullRefusesAnUntrustedCA() throws {
        let configuration = try cluster.configuration("sslmode=verify-full&host=localhost")
        let message = try Self.failure(configuration)
        #expect(message.contains("the TLS handshake failed"), "\(message)")
        #expect(message.contains("signed by the system's trusted CAs"), "\(message)")
        #expect(!message.contains(try #require(configuration.password)))
    }

    @Test("sslmode=verify-ca with the CA connects to an address the certificate does not name: it checks the CA only")
    func verifyCAChecksTheCAButNotTheHostName() throws {
        // The certificate names `localhost` only; verify-full refuses 127.0.0.1 (above), verify-ca does not.
        let configuration = try cluster.configuration("sslmode=verify-ca&sslrootcert=\(cluster.caFile)")
        #expect(configuration.host == "127.0.0.1")
        #expect(try Self.encrypted(configuration))
    }

    @Test("sslmode=verify-ca refuses a certificate not signed by the CA named, saying so, without the password")
    func verifyCARefusesAnotherCA() throws {
        let foreign = try ForeignCA()
        let configuration = try cluster.configuration("sslmode=verify-ca&sslrootcert=\(foreign.file)")
        let message = try Self.failure(configuration)
        #expect(message.contains("the TLS handshake failed"), "\(message)")
        #expect(message.contains("with sslmode=verify-ca the server's certificate must be signed by the CA certificates in \(foreign.file)"), "\(message)")
        #expect(!message.contains(try #require(configuration.password)))
    }

    @Test("sslmode=verify-ca without sslrootcert checks against the system's CAs, which do not know the cluster's")
    func verifyCAWithoutTheCAIsRefused() throws {
        let message = try Self.failure(try cluster.configuration("sslmode=verify-ca"))
        #expect(message.contains("signed by the system's trusted CAs"), "\(message)")
    }

    @Test("sslmode=require with sslrootcert checks the CA as verify-ca does (libpq's rule)", arguments: [true, false])
    func requireWithARootCertificateChecksTheCA(ownCA: Bool) throws {
        let foreign = try ForeignCA()
        let configuration = try cluster.configuration("sslmode=require&sslrootcert=\(ownCA ? cluster.caFile : foreign.file)")
        if ownCA {
            #expect(try Self.encrypted(configuration))
        } else {
            let message = try Self.failure(configuration)
            #expect(message.contains("the TLS handshake failed"), "\(message)")
            #expect(!message.contains(try #require(configuration.password)))
        }
    }

    /// The message of the failed connection.
    static func failure(_ configuration: PostgresConfiguration) throws -> String {
        do {
            _ = try PostgresBackend(configuration: configuration, mode: .create)
        } catch {
            return error.message
        }
        Issue.record("the connection was expected to fail")
        return ""
    }
}

/// A server without TLS.
@Suite(.enabled(if: TestServer.enabled, "OZGTRACK_QUICK=1 without a PostgreSQL server"))
struct PlainServerTLSTests {
    @Test("sslmode=require against a server without TLS fails clearly, without the password")
    func requireAgainstAPlainServerFails() throws {
        let base = try TestServer.requireURL()
        let configuration = try PostgresConfiguration.resolve(url: base + (base.contains("?") ? "&" : "?") + "sslmode=require")
        let message = try TLSTests.failure(configuration)
        #expect(message.contains("the server does not offer TLS, which sslmode=require asks for"), "\(message)")
        #expect(!message.contains(try #require(configuration.password)))
    }

    @Test("sslmode=prefer against a server without TLS connects in plain text")
    func preferFallsBackToPlainText() throws {
        #expect(try !TLSTests.encrypted(try TestServer.configuration(schema: "ozgtrack")))
    }
}

extension ThrowawayCluster {
    /// The cluster's URL with `query` added.
    func configuration(_ query: String) throws -> PostgresConfiguration {
        try PostgresConfiguration.resolve(url: url + "?" + query)
    }
}

/// A CA certificate of no server (made with openssl), deleted at the end.
final class ForeignCA {
    let directory: String
    var file: String { directory + "/ca.crt" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("foreign-ca-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let argv = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ozgtrack foreign test CA",
            "-keyout", directory + "/ca.key", "-out", file,
        ]
        var pid: pid_t = 0
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawnp(&pid, "openssl", &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw StoreError("openssl could not be started: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0, FileManager.default.fileExists(atPath: file) else {
            throw StoreError("openssl could not make a CA certificate (wait status \(status))")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
