import Foundation
public import OZGCore
import NIOSSL

/// A certificate chain and its private key, for serving HTTPS directly (`--tls-cert`, `--tls-key`).
///
/// Both files are read and checked when the value is made — before the server binds anything — so that a missing,
/// unreadable or malformed file, or a key that does not belong to the certificate, stops `ozgtrack serve` with a
/// message naming the file instead of failing on the first connection.
public struct TLSIdentity: Sendable {
    let configuration: TLSConfiguration

    /// Reads a PEM certificate chain (the server's certificate first, then any intermediates) and a PEM private key.
    /// - Throws: ``TLSFileError`` naming the file that cannot be used, and why.
    public init(certificateFile: String, keyFile: String) throws(TLSFileError) {
        let certificateBytes = try Self.read(certificateFile, what: "certificate")
        let keyBytes = try Self.read(keyFile, what: "private key")
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw TLSFileError(file: certificateFile, message: "not a PEM certificate (expected '-----BEGIN CERTIFICATE-----')")
        }
        if certificates.isEmpty {
            throw TLSFileError(file: certificateFile, message: "holds no certificate (expected '-----BEGIN CERTIFICATE-----')")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSFileError(
                file: keyFile, message: "not an unencrypted PEM private key (expected '-----BEGIN PRIVATE KEY-----' or similar)")
        }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
        // Building a context checks that the key belongs to the certificate (BoringSSL refuses a mismatch).
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSFileError(file: keyFile, message: "does not belong to the certificate in \(certificateFile)")
        }
        self.configuration = configuration
    }

    private static func read(_ path: String, what: String) throws(TLSFileError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw TLSFileError(file: path, message: "no such file (expected the \(what) in PEM)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSFileError(file: path, message: "cannot be read (check its permissions)")
        }
        return Array(data)
    }
}

/// A certificate or key file that cannot be used for HTTPS.
public struct TLSFileError: DescribedError {
    /// The file.
    public var file: String
    /// What is wrong with it.
    public var message: String

    public var description: String { "\(file): \(message)" }
}
