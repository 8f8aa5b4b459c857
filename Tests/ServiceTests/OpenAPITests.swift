import Foundation
import Testing

/// The server against its OpenAPI description, checked by schemathesis (scripts/openapi-check.sh).
@Suite("Service: OpenAPI conformance")
struct OpenAPITests {
    @Test("scripts/openapi-check.sh: every documented operation answers as described")
    func conformance() async throws {
        guard executable(named: "schemathesis") != nil || executable(named: "st") != nil else {
            if quickMode { return }
            Issue.record("schemathesis is not installed (pip install schemathesis); OZGTRACK_QUICK=1 skips this test")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot.appendingPathComponent("scripts/openapi-check.sh").path]
        var environment = childEnvironment()
        environment["OZGTRACK_BINARY"] = binary.path
        process.environment = environment
        process.currentDirectoryURL = packageRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        let text = try await offload { () throws -> String in
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }
        #expect(process.terminationStatus == 0, "\(text.suffix(4000))")
    }
}
