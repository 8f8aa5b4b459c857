import Foundation
import Testing

/// HTTPS served directly (`--tls-cert`, `--tls-key`), over real TLS on loopback with a throwaway certificate made
/// by the openssl command-line tool; curl is the client (it can trust exactly that certificate).
@Suite("Service: HTTPS with --tls-cert and --tls-key", .serialized)
struct TLSTests {
    /// openssl and curl, or `nil` when either is missing (then the tests fail, unless `OZGTRACK_QUICK=1`).
    static func tools() -> (openssl: URL, curl: URL)? {
        guard let openssl = executable(named: "openssl"), let curl = executable(named: "curl") else { return nil }
        return (URL(fileURLWithPath: openssl), URL(fileURLWithPath: curl))
    }

    /// A self-signed certificate for 127.0.0.1 and localhost, valid for a day: `name.crt` and `name.key`.
    func makeCertificate(_ name: String, openssl: URL, in directory: URL) async throws {
        let run = try await program(
            openssl,
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=ozgtrack test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", "\(name).key", "-out", "\(name).crt",
            ], in: directory, timeout: 60)
        #expect(run.status == 0, "openssl: \(run.stderr)")
    }

    @Test("With the certificate trusted a request succeeds over HTTPS; plain HTTP and an untrusted client fail")
    func servesHTTPS() async throws {
        guard let tools = Self.tools() else {
            if !quickMode { Issue.record("openssl and curl are needed for the HTTPS tests (apt-get install openssl curl)") }
            return
        }
        try await withDatabase { directory in
            try await makeCertificate("server", openssl: tools.openssl, in: directory)
            let token = try await createToken("Leser", scope: nil, role: "read", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--tls-cert", "server.crt", "--tls-key", "server.key"])
            #expect(server.scheme == "https")
            let https = "https://127.0.0.1:\(server.port)"
            let health = try await program(tools.curl, ["-sS", "--cacert", "server.crt", "\(https)/healthz"], in: directory, timeout: 60)
            #expect(health.status == 0, "\(health.stderr)")
            #expect(health.stdout == "ok\n")
            let status = try await program(
                tools.curl, ["-sS", "--cacert", "server.crt", "-H", "Authorization: Bearer \(token)", "\(https)/api/v1/status/08115001"],
                in: directory, timeout: 60)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("\"key\" : \"08115001\""))
            // Not trusted: curl refuses the certificate (exit 60).
            let untrusted = try await program(tools.curl, ["-sS", "\(https)/healthz"], in: directory, timeout: 60)
            #expect(untrusted.status != 0)
            #expect(untrusted.stdout.isEmpty)
            // Plain HTTP to the TLS port gets no HTTP answer.
            let plain = try await program(tools.curl, ["-sS", "http://127.0.0.1:\(server.port)/healthz"], in: directory, timeout: 60)
            #expect(plain.status != 0)
            #expect(!plain.stdout.contains("ok"))
            // The server is still fine afterwards.
            let again = try await program(tools.curl, ["-sS", "--cacert", "server.crt", "\(https)/healthz"], in: directory, timeout: 60)
            #expect(again.stdout == "ok\n")
            #expect(try await server.terminate() == 0)
        }
    }

    /// A file that cannot be used, and the file the message must name.
    enum BadFile: String, CaseIterable, CustomStringConvertible {
        case missingCertificate, missingKey, certificateNotPEM, keyNotPEM, keyOfAnotherCertificate
        var description: String { rawValue }
    }

    @Test("A bad certificate or key file: exit 2 with a message naming the file, before anything is served", arguments: BadFile.allCases)
    func badFiles(_ bad: BadFile) async throws {
        guard let tools = Self.tools() else {
            if !quickMode { Issue.record("openssl and curl are needed for the HTTPS tests (apt-get install openssl curl)") }
            return
        }
        try await withDatabase { directory in
            try await makeCertificate("server", openssl: tools.openssl, in: directory)
            try await makeCertificate("other", openssl: tools.openssl, in: directory)
            try "not a certificate\n".write(to: directory.appendingPathComponent("garbage.pem"), atomically: true, encoding: .utf8)
            let (certificate, key, named): (String, String, String) =
                switch bad {
                case .missingCertificate: ("missing.crt", "server.key", "missing.crt")
                case .missingKey: ("server.crt", "missing.key", "missing.key")
                case .certificateNotPEM: ("garbage.pem", "server.key", "garbage.pem")
                case .keyNotPEM: ("server.crt", "garbage.pem", "garbage.pem")
                case .keyOfAnotherCertificate: ("server.crt", "other.key", "other.key")
                }
            let run = try await program(
                binary, ["serve", "--db", "db.sqlite", "--port", "0", "--tls-cert", certificate, "--tls-key", key], in: directory,
                timeout: 120)
            #expect(run.status == 2, "\(bad): \(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains(named), "\(bad): \(run.stderr)")
            #expect(!run.stdout.contains("listening"))
        }
    }

    @Test("--tls-cert without --tls-key is a usage error")
    func certificateNeedsKey() async throws {
        try await withDatabase { directory in
            let run = try await program(binary, ["serve", "--db", "db.sqlite", "--port", "0", "--tls-cert", "x.crt"], in: directory, timeout: 120)
            #expect(run.status == 2)
            #expect(run.stderr.contains("--tls-key"))
        }
    }
}
