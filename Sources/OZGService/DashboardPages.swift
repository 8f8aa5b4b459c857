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
        let latest = try await server.workers.run {  try store.tracking.read { try $0.latestChange() } }
        let millis = latest.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
        let etag = "\"\(millis)-\(key?.description ?? "DE")-\(Generator.version)\""
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0.trimmingCharacters(in: .whitespaces) == "*" }) {
            return Response(status: .notModified, headers: [.eTag: etag, .cacheControl: "no-cache"])
        }
        let report = try ReportRequest(query: Query(request: request), scope: key, catalogue: catalogue, defaultFormat: "html")
        return try await report.stream(store: store, catalogue: catalogue, headers: [.eTag: etag, .cacheControl: "no-cache"])
    }
}

/// The OpenAPI 3.1 description of the API, embedded from `Sources/OZGService/openapi.json`.
enum OpenAPIDocument {
    static var text: String {
        EmbeddedData.files["Sources/OZGService/openapi.json"].map { "\($0)" } ?? "{}"
    }
}
