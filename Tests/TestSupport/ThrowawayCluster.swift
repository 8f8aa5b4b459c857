import Foundation

/// A PostgreSQL cluster of a test's own (`scripts/pg-cluster.sh`), stopped and deleted at the end: for faults that
/// stop the server, and for TLS (`start --tls`: a certificate for `localhost` only, signed by a CA of the cluster's).
public final class ThrowawayCluster {
    /// The cluster's directory.
    public let directory: String
    /// The cluster's connection URL.
    public let url: String
    /// The CA certificate of a cluster started with TLS.
    public var caFile: String { directory + "/tls/ca.crt" }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/pg-cluster.sh").path

    /// Starts a cluster, with `ssl=on` if `tls`.
    public init(tls: Bool = false) throws {
        directory = try Self.run(tls ? ["start", "--tls"] : ["start"]).trimmingCharacters(in: .whitespacesAndNewlines)
        url = try Self.run(["url", directory]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { _ = try? Self.run(["stop", directory]) }

    /// Stops the server (fast shutdown: sessions are ended, open transactions rolled back), keeping its data.
    public func pause() throws { _ = try Self.run(["pause", directory]) }

    /// Starts the stopped server again on the same port.
    public func resume() throws { _ = try Self.run(["resume", directory]) }

    /// Runs the script and returns its stdout. Spawned and awaited with `posix_spawn` and `waitpid`: the script
    /// starts a server that outlives it, which `Process.waitUntilExit` was seen to hang on.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv = ["/bin/sh", "-c", "exec \"$0\" \"$@\" > '\(output)' 2>/dev/null", script] + arguments
        var pid: pid_t = 0
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, cArguments, environ)
        guard spawned == 0 else {
            throw Failure(description: "pg-cluster.sh could not be started: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw Failure(description: "pg-cluster.sh \(arguments.joined(separator: " ")) failed (wait status \(status))")
        }
        return text
    }

    /// The script failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }
}
