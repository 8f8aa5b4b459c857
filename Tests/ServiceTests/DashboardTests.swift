import Foundation
import Testing

/// The dashboard pages: ETag caching, and the page in a real browser.
@Suite("Service: dashboard pages", .serialized)
struct DashboardTests {
    @Test("Pages carry an ETag keyed to the latest change: 304 until something is written")
    func etag() async throws {
        try await withDatabase { directory in
            let token = try await createToken("Ministerium", scope: nil, role: "admin", in: directory)
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let first = try await http("GET", server, "/region/08115")
            #expect(first.status == 200, "\(first.text.prefix(300))")
            let etag = try #require(first.header("ETag"))
            let again = try await http("GET", server, "/region/08115", headers: ["If-None-Match": etag])
            #expect(again.status == 304)
            let write = try await http(
                "PUT", server, "/api/v1/status/08115001/10244", token: token, body: try jsonBody(["status": "online"]),
                contentType: "application/json")
            #expect(write.status == 200)
            let changed = try await http("GET", server, "/region/08115", headers: ["If-None-Match": etag])
            #expect(changed.status == 200)
            #expect(changed.header("ETag") != etag)
            #expect(try await server.terminate() == 0)
        }
    }

    @Test("The country page loads in headless Chromium without console errors or external requests")
    func chromium() async throws {
        guard let browser = executable(named: "chromium") ?? executable(named: "chromium-browser") else {
            if quickMode { return }
            Issue.record("chromium is not installed (apt-get install chromium); OZGTRACK_QUICK=1 skips this test")
            return
        }
        try await withDatabase { directory in
            let server = try await Server.start(directory: directory, arguments: ["--public-read"])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: browser)
            process.arguments = [
                "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                "--user-data-dir=\(directory.appendingPathComponent("chromium").path)",
                "--virtual-time-budget=5000", "--dump-dom", server.base.appendingPathComponent("/").absoluteString,
            ]
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            let (dom, log) = try await offload { () throws -> (String, String) in
                try process.run()
                let group = DispatchGroup()
                nonisolated(unsafe) var errData = Data()
                group.enter()
                DispatchQueue.global().async {
                    errData = err.fileHandleForReading.readDataToEndOfFile()
                    group.leave()
                }
                let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                group.wait()
                process.waitUntilExit()
                return (dom, String(decoding: errData, as: UTF8.self))
            }
            #expect(dom.contains("</html>"), "\(log.suffix(2000))")
            let consoleErrors = log.split(separator: "\n").filter { $0.contains("CONSOLE") && ($0.contains("ERROR") || $0.contains("Uncaught")) }
            #expect(consoleErrors.isEmpty, "\(consoleErrors)")
            // Nothing is loaded from elsewhere: no element names an external resource (links people may click are
            // not requests), and the page's Content-Security-Policy would block and log any attempt.
            for match in dom.matches(of: /(?:src|srcset|data|poster)="([^"]*)"/) {
                let value = String(match.1)
                #expect(value.hasPrefix("data:") || value.hasPrefix("/"), "external resource \(value)")
            }
            for match in dom.matches(of: /<link[^>]*href="([^"]*)"/) {
                #expect(!String(match.1).contains("://"), "external resource \(match.1)")
            }
            #expect(!log.contains("Refused to load"), "\(log.suffix(2000))")
            // The country page links down to the Länder.
            #expect(dom.contains("href=\"/region/08\""))
            #expect(server.log.split(separator: "\n").filter { $0.contains("hb.request.path=") }.allSatisfy { $0.contains("hb.request.path=/") })
            #expect(try await server.terminate() == 0)
        }
    }
}
