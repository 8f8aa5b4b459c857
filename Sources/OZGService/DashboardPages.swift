import Exporters
import Foundation
import Hummingbird
import NIOCore
import OZGCore

/// The dashboard: `/` is the HTML report of the country, `/region/{key}` that of a Land, Kreis or Gemeinde. Pages
/// carry an ETag keyed to the store's latest change, so that a browser that has the page gets 304.
struct DashboardPages: Sendable {
    let server: OZGServer

    func page(_ request: Request, _ context: OZGRequestContext, key text: String?) async throws -> Response {
        try server.requireReader(context)
        let catalogue = server.catalogue
        let key: RegionKey? = try text.map { value in
            do {
                let key = try RegionKey(value)
                guard let region = catalogue.regions.resolve(key) else {
                    throw Problem.notFound("'\(key)' is not in the territory edition \(catalogue.regions.date)")
                }
                return region.key
            } catch let error as InputError {
                var copy = error
                copy.field = "key"
                throw copy
            }
        }
        guard ExporterRegistry.shared.exporter(named: "html") != nil else {
            throw Problem(.serviceUnavailable, type: "no-html", detail: "this build has no HTML report format")
        }
        let store = server.store
        let latest = try await server.workers.run {
            try store.withReader { tracking, _ in try tracking.read { try $0.latestChange() } }
        }
        let millis = latest.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
        let etag = "\"\(millis)-\(key?.description ?? "DE")-\(Generator.version)\""
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*" }) {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "no-cache"])
        }
        let report = try ReportRequest(query: Query(request: request), scope: key, catalogue: catalogue, defaultFormat: "html")
        let navigation = report.exporter.identifier == "html" ? Self.navigation(for: key, in: catalogue.regions) : nil
        return try await report.stream(
            store: store, catalogue: catalogue, headers: [.eTag: etag, .cacheControl: "no-cache"], insertAfterBody: navigation)
    }

    /// Links up to the units above and down to the units directly below: the country links to the Länder, a Land
    /// to its Bezirke or Kreise, a Kreis to its Verbände and Gemeinden.
    static func navigation(for key: RegionKey?, in registry: RegionRegistry) -> String {
        func link(_ region: Region) -> String {
            "<a href=\"/region/\(region.key)\">\(escape(region.name))</a>"
        }
        var trail = ["<a href=\"/\">Deutschland</a>"]
        if let key {
            trail += registry.ancestors(of: key).reversed().map(link)
            if let region = registry.region(key) { trail.append(escape(region.name)) }
        }
        let children = key.map { registry.children(of: $0) } ?? registry.descendants(of: nil, level: .land)
        var text = "<nav aria-label=\"Gebiete\"><p>\(trail.joined(separator: " › "))</p>\n"
        if !children.isEmpty {
            text += "<details\(children.count <= 20 ? " open" : "")><summary>\(children.count) Gebiete darunter</summary><ul>\n"
            for child in children { text += "<li>\(link(child)) (\(child.key))</li>\n" }
            text += "</ul></details>\n"
        }
        return text + "</nav>\n"
    }

    /// Text for element content or a quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// A sink that inserts a piece of HTML right after the page's `<body>` tag and passes everything else through
/// (text and bytes alike: the report runner hands bytes on).
final class BodyInsertingSink: OutputSink {
    private let base: any OutputSink
    private var insertion: [UInt8]?
    private var carry: [UInt8] = []
    private static let tag = Array("<body>".utf8)

    init(_ base: any OutputSink, inserting insertion: String) {
        self.base = base
        self.insertion = Array(("\n" + insertion).utf8)
    }

    func write(_ text: String) throws {
        if insertion == nil { return try base.write(text) }
        var text = text
        try text.withUTF8 { try write(bytes: UnsafeRawBufferPointer($0)) }
    }

    func write(bytes: UnsafeRawBufferPointer) throws {
        guard let insertion else { return try base.write(bytes: bytes) }
        carry.append(contentsOf: bytes)
        if let end = Self.end(of: Self.tag, in: carry) {
            var out = Array(carry[..<end])
            out += insertion
            out += carry[end...]
            self.insertion = nil
            carry = []
            try out.withUnsafeBytes { try base.write(bytes: $0) }
        } else if carry.count > 1 << 20 {
            // No body tag in the first MiB: not a page to decorate.
            try flush()
        }
    }

    /// The index just after the first occurrence of `needle` in `haystack`.
    private static func end(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return start + needle.count }
        }
        return nil
    }

    /// Hands on anything still held back.
    func flush() throws {
        insertion = nil
        if !carry.isEmpty {
            let held = carry
            carry = []
            try held.withUnsafeBytes { try base.write(bytes: $0) }
        }
    }
}

/// The OpenAPI 3.1 description of the API, embedded from `Sources/OZGService/openapi.json`.
enum OpenAPIDocument {
    static var text: String {
        EmbeddedData.files["Sources/OZGService/openapi.json"].map { "\($0)" } ?? "{}"
    }
}
