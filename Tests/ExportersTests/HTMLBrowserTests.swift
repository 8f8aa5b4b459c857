import Foundation
import OZGCore
import Testing

@testable import Exporters

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local HTTP proxy that answers every request with 502 and remembers its request line. The browser is told to
/// send all its traffic (loopback included) through it, so every network request it makes is seen here.
final class RecordingProxy: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private let stopped = DispatchSemaphore(value: 0)

    init() throws {
        #if canImport(Glibc)
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let listener = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard listener >= 0 else { throw BrowserTestError("cannot open a socket for the recording proxy") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw BrowserTestError("cannot listen on 127.0.0.1") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        self.listener = listener
        Thread.detachNewThread { [self] in serve() }
    }

    private func serve() {
        defer { stopped.signal() }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(connection, &buffer, buffer.count, 0)
            if count > 0 {
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                lock.lock()
                lines.append(String(text.split(separator: "\r\n").first ?? ""))
                lock.unlock()
            }
            let answer = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = answer.withCString { send(connection, $0, strlen($0), 0) }
            close(connection)
        }
    }

    /// The request lines so far ("GET http://host/path HTTP/1.1", "CONNECT host:443 HTTP/1.1").
    var requests: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        stopped.wait()
    }

    /// The host a request line names.
    static func host(_ line: String) -> String {
        let parts = line.split(separator: " ")
        guard parts.count >= 2 else { return line }
        var target = String(parts[1])
        if let scheme = target.range(of: "://") { target = String(target[scheme.upperBound...]) }
        return String(target.split(separator: "/").first?.split(separator: ":").first ?? "")
    }

    /// Hosts Chromium itself talks to in the background (component updates, accounts), whatever the page does;
    /// they are not counted as the page's requests. Everything else is.
    static let browserServiceSuffixes = ["google.com", "googleapis.com", "gstatic.com", "gvt1.com", "googleusercontent.com"]

    /// Requests that did not come from the browser's own background services.
    var pageRequests: [String] {
        requests.filter { line in
            let host = Self.host(line)
            return !Self.browserServiceSuffixes.contains { host == $0 || host.hasSuffix("." + $0) }
        }
    }
}

/// A temporary directory removed after `body`.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-html-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

struct BrowserTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Headless Chromium (the Debian package `chromium`), run as a real browser on a file.
struct Chromium {
    let executable: String

    /// Chromium, or `nil` after recording why the test cannot run: missing Chromium fails the test unless
    /// `OZGTRACK_QUICK=1` (then the test is skipped).
    static func required() -> Chromium? {
        let environment = ProcessInfo.processInfo.environment
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for directory in path where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return Chromium(executable: "\(directory)/\(name)")
            }
        }
        if environment["OZGTRACK_QUICK"] != "1" {
            Issue.record(
                Comment(
                    rawValue: "Chromium is not installed: the HTML report's browser tests need it (Debian: apt-get install "
                        + "chromium; or set OZGTRACK_QUICK=1 to skip them)"))
        }
        return nil
    }

    /// What the browser made of a page: its DOM after loading, the console messages it logged, the requests it sent.
    struct Outcome {
        var dom: String
        var console: [String]
        var requests: [String]
    }

    /// Loads `file` headless, with all traffic sent to a recording proxy and console messages logged to stderr.
    func load(_ file: URL) throws -> Outcome {
        let proxy = try RecordingProxy()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("ozgtrack-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let out = work.appendingPathComponent("dom.html")
        let err = work.appendingPathComponent("stderr.txt")
        guard FileManager.default.createFile(atPath: out.path, contents: nil),
            FileManager.default.createFile(atPath: err.path, contents: nil)
        else { throw BrowserTestError("cannot create files in \(work.path)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = [
            "120", executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=\(work.appendingPathComponent("profile").path)", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-domain-reliability",
            "--disable-client-side-phishing-detection", "--no-pings", "--disable-breakpad",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
            "--proxy-server=http://127.0.0.1:\(proxy.port)", "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr", "--v=0", "--dump-dom", file.absoluteString,
        ]
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        proxy.stop()
        let dom = try String(contentsOf: out, encoding: .utf8)
        let log = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0, !dom.isEmpty else {
            throw BrowserTestError("Chromium failed on \(file.path) (status \(process.terminationStatus)): \(log.suffix(2000))")
        }
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Outcome(dom: dom, console: console, requests: proxy.pageRequests)
    }
}

@Suite("HTML report in a real browser (headless Chromium)", .serialized)
struct HTMLBrowserTests {
    @Test("the check detects what it must: a console error and network requests of a page")
    func negative() throws {
        guard let chromium = Chromium.required() else { return }
        try withTemporaryDirectory { directory in
            let page = directory.appendingPathComponent("bad.html")
            try """
            <!DOCTYPE html><html lang="de"><head><title>bad</title>
            <link rel="stylesheet" href="https://fonts.example.net/font.css"></head>
            <body><p>bad</p><img src="http://example.org/pixel.png" alt="">
            <script>console.error("ozgtrack-negative-test")</script></body></html>
            """.write(to: page, atomically: true, encoding: .utf8)
            let outcome = try chromium.load(page)
            #expect(outcome.console.contains { $0.contains("ozgtrack-negative-test") })
            let hosts = Set(outcome.requests.map(RecordingProxy.host))
            #expect(hosts.contains("example.org"), "\(outcome.requests)")
            #expect(hosts.contains("fonts.example.net"), "\(outcome.requests)")
        }
    }

    /// Reports of each scope kind from the fixture (Themenfeld 11) and the expected number of map shapes.
    static let scopes: [(name: String, scope: String?)] = [
        ("Gemeinde", "08115001"), ("Kreis", "08115"), ("Land", "08"), ("country", nil),
    ]

    @Test("each scope kind renders without console messages or network requests, with its shapes and bars", arguments: scopes)
    func scope(name: String, scope: String?) throws {
        guard let chromium = Chromium.required() else { return }
        let fixture = try Fixture()
        let query = ReportQuery(
            scope: try scope.map { try RegionKey($0) }, filter: ServiceFilter(themenfeld: 11),
            createdAt: Date(timeIntervalSince1970: 1_764_547_200))
        let sink = StringSink()
        let summary = try Report.with(query, catalogue: catalogue, store: fixture.store) { report in
            try HTMLExporter().write(report, to: sink)
            return try report.summary()
        }
        let registry = catalogue.regions
        let expectedShapes: Int
        switch scope?.count {
        case 8: expectedShapes = 1
        case nil: expectedShapes = registry.regions.filter { $0.level == .kreis }.count
        default: expectedShapes = registry.descendants(of: try RegionKey(scope ?? ""), level: .gemeinde).count
        }
        try withTemporaryDirectory { directory in
            let page = directory.appendingPathComponent("\(name).html")
            try sink.text.write(to: page, atomically: true, encoding: .utf8)
            let outcome = try chromium.load(page)
            #expect(outcome.console.isEmpty, "\(name): \(outcome.console)")
            #expect(outcome.requests.isEmpty, "\(name): \(outcome.requests)")
            #expect(outcome.dom.contains("<h1>OZG-Umsetzungsstand: "))
            #expect(outcome.dom.contains("</footer>"))
            #expect(count("<path class=\"u\"", in: outcome.dom) == expectedShapes, "\(name)")
            #expect(!outcome.dom.contains("Ohne Umriss auf der Karte"), "\(name)")
            let themenfelder = outcome.dom.components(separatedBy: "data-chart=\"themenfelder\"").last?.components(separatedBy: "</svg>").first ?? ""
            #expect(count("<g class=\"bar\">", in: themenfelder) == summary.themenfelder.count)
            let reifegrad = outcome.dom.components(separatedBy: "data-chart=\"reifegrad\"").last?.components(separatedBy: "</svg>").first ?? ""
            let model2 = summary.maturity.contains { $0.model == 2 }
            #expect(count("<g class=\"bar\">", in: reifegrad) == 5 + (model2 ? 8 : 0))
        }
    }
}
