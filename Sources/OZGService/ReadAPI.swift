import Exporters
import Foundation
import Hummingbird
import NIOCore
import OZGCore

/// The read API, `/api/v1/…`: the JSON documents of the command-line tool's `--format json`, and reports streamed.
struct ReadAPI: Sendable {
    let server: OZGServer
    var catalogue: Catalogue { server.catalogue }

    /// `GET catalogue?topic=&municipal=&search=`: the OZG-Leistungen (`catalogue services --format json`).
    func catalogue(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        let services = catalogue.services
        let field = try query.parse("topic") { try services.themenfeld(matching: $0) }
        let municipal = try query.flag("municipal")
        let search = try query.text("search")
        return try await server.workers.run {
            try Response.json(
                services.services(themenfeld: field?.number, lebenslage: nil, municipalOnly: municipal, text: search)
                    .map { ServiceItem($0, in: services) })
        }
    }

    /// `GET regions?within=&level=`: units (`regions list --format json`): the Länder, the units directly below
    /// `within`, or every unit of `level` (within `within`).
    func regions(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        let registry = catalogue.regions
        let scope = try query.parse("within") { try registry.resolve($0) }
        let level = try query.parse("level") { text -> RegionLevel in
            guard let level = RegionLevel(rawValue: text) else {
                throw InputError(
                    message: "\(text.quotedForMessage) is not a level: expected one of \(RegionLevel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return level
        }
        let units: [Region]
        if let level {
            units = registry.descendants(of: scope?.key, level: level)
        } else if let scope {
            units = registry.children(of: scope.key)
        } else {
            units = registry.descendants(of: nil, level: .land)
        }
        return try await server.workers.run { try Response.json(units.map(RegionItem.init)) }
    }

    /// `GET status/{region}?as-of=&topic=&municipal=`: every service with its status in the region
    /// (`status --format json`).
    func status(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        let catalogue = self.catalogue
        let unit = try parameter("region", context) { try catalogue.regions.resolve($0) }
        let filter = try serviceFilter(query)
        let asOf = try query.parse("as-of") { try Timestamp.parse($0, endOfDay: true) }
        let store = server.store
        let cache = server.cache
        let writer = server.statusJSON
        let key = "status/\(unit.key)?\(request.uri.query ?? "")"
        return try await server.workers.run {
            try store.withReader { tracking, _ in
                // The version (the latest change) and the document come from one snapshot, so the ETag always
                // names the state the document shows.
                try tracking.read { reader in
                    let version = try reader.latestChange().map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? 0
                    let headers: HTTPFields = [.contentType: "application/json", .eTag: "\"\(version)\""]
                    if let body = cache.get(key, version: version) {
                        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
                    }
                    let view = try StatusView.make(
                        store: Snapshot(reader), catalogue: catalogue, region: unit, filter: filter, asOf: asOf)
                    let body: ByteBuffer
                    if let written = writer.document(view) {
                        body = written
                    } else {
                        body = ByteBuffer(string: try JSON.encode(StatusListing(view, catalogue: catalogue)) + "\n")
                    }
                    cache.put(key, version: version, body: body)
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
                }
            }
        }
    }

    /// `GET history/{region}?ozg-id=&since=`: every recorded change of the region's records (`history --format json`).
    func history(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        let registry = catalogue.regions
        // A key that the loaded edition no longer has still has its history.
        let key = try parameter("region", context) { text in
            let key = try RegionKey(text)
            return registry.resolve(key)?.key ?? key
        }
        let service = try query.parse("ozg-id") { try OZGID($0) }
        let since = try query.parse("since") { try Timestamp.parse($0, endOfDay: false) }
        let store = server.store
        return try await server.workers.run {
            try store.withReader { tracking, _ in
                try Response.json(try History.changes(store: tracking, region: key, service: service, since: since).map(HistoryItem.init))
            }
        }
    }

    /// `GET diff?since=&until=&scope=`: records whose state changed in the period (`diff --format json`).
    func diff(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        guard let since = try query.parse("since", { try Timestamp.parse($0, endOfDay: false) }) else {
            throw InputError(field: "since", message: "missing: expected a day (YYYY-MM-DD) or an ISO 8601 time")
        }
        let until = try query.parse("until") { try Timestamp.parse($0, endOfDay: true) }
        let scope = try RegionScope(try query.parse("scope") { try RegionKey($0) }, in: catalogue.regions)
        let store = server.store
        return try await server.workers.run {
            var items: [DiffItem] = []
            try store.withReader { tracking, _ in
                try History.differences(store: tracking, scope: scope, since: since, until: until) { items.append(DiffItem($0)) }
            }
            return try Response.json(items)
        }
    }

    /// `GET check?scope=&min-online=&min-maturity=&maturity-model=&own-only=&limit=`: the CI gate
    /// (`check --format json`); 200 whether it holds or not (see `holds`).
    func check(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        var options = Check.Options()
        options.scope = try query.parse("scope") { try RegionKey($0) }
        options.minOnline = try query.parse("min-online") { text -> Double in
            guard let value = Double(text), (0...100).contains(value) else {
                throw InputError(message: "\(text.quotedForMessage) is not a percentage: expected a number from 0 to 100")
            }
            return value
        }
        if let model = try query.parse("maturity-model", { try MaturityModel(parsing: $0) }) { options.maturityModel = model }
        options.minMaturity = try query.parse("min-maturity") { [model = options.maturityModel] text -> Int in
            guard let level = Int(text), model.levels.contains(level) else {
                throw InputError(message: "\(text.quotedForMessage) is out of range for model \(model.rawValue): expected \(model.levels)")
            }
            return level
        }
        options.filter = try serviceFilter(query)
        options.includeHigherLevel = !(try query.flag("own-only"))
        if let limit = try query.parse("limit", { text -> Int in
            guard let value = Int(text), value >= 0 else { throw InputError(message: "\(text.quotedForMessage): expected a number of 0 or more") }
            return value
        }) {
            options.limit = limit
        }
        let store = server.store
        let catalogue = self.catalogue
        return try await server.workers.run { [options] in
            try store.withReader { tracking, _ in
                try Response.json(try Check.run(store: tracking, catalogue: catalogue, options: options))
            }
        }
    }

    /// `GET report/{scope}?format=…`: a report in any built-in format, streamed as it is written (the national
    /// report in one response, in bounded memory). `{scope}` is a region key, or `DE` (or none) for the country.
    func report(_ request: Request, _ context: OZGRequestContext, scope: String?) async throws -> Response {
        try server.requireReader(context)
        let query = Query(request: request)
        let scopeKey = try scope.flatMap { text -> RegionKey? in
            if text.uppercased() == "DE" { return nil }
            do {
                return try RegionKey(text)
            } catch let error as InputError {
                var copy = error
                copy.field = "scope"
                throw copy
            }
        }
        let request = try ReportRequest(query: query, scope: scopeKey, catalogue: catalogue)
        return try await request.stream(store: server.store, catalogue: catalogue)
    }

    private func parameter<T>(_ name: String, _ context: OZGRequestContext, _ parse: (String) throws -> T) throws -> T {
        let value = context.parameters.get(name) ?? ""
        do {
            return try parse(value)
        } catch let error as InputError {
            var copy = error
            copy.field = name
            throw copy
        }
    }

    private func serviceFilter(_ query: Query) throws -> ServiceFilter {
        let services = catalogue.services
        let field = try query.parse("topic") { try services.themenfeld(matching: $0) }
        return ServiceFilter(themenfeld: field?.number, municipalOnly: try query.flag("municipal"))
    }
}

/// A report as a request asks for it: the exporter with its options and the query — the `report` command's
/// arguments. (When the libraries' report runner lands, this hands both to it.)
struct ReportRequest: Sendable {
    let exporter: any ReportExporter
    let query: ReportQuery

    init(query parameters: Query, scope: RegionKey?, catalogue: Catalogue, defaultFormat: String = "markdown") throws {
        let name = try parameters.text("format") ?? defaultFormat
        var options = ExportOptions()
        if let delimiter = try parameters.text("delimiter") {
            guard delimiter == "," || delimiter == ";", let character = delimiter.first else {
                throw InputError(field: "delimiter", message: "\(delimiter.quotedForMessage): expected ',' or ';'")
            }
            options.csvDelimiter = character
        }
        options.byteOrderMark = try parameters.flag("bom")
        options.neutraliseFormulas = !(try parameters.flag("no-formula-protection"))
        // The libraries' report runner finds the exporter, as for `ozgtrack report` (registered formats only: the
        // service runs no plugin programs).
        do {
            exporter = try ReportRunner().exporter(named: name, options: options)
        } catch {
            throw ExporterErrorBox(description: "format: \(error.description)")
        }
        var query = ReportQuery()
        query.scope = scope
        if let scope, catalogue.regions.resolve(scope) == nil {
            throw InputError(
                field: "scope", message: "'\(scope)' is not in the territory edition \(catalogue.regions.date): expected a key of the registry")
        }
        query.asOf = try parameters.parse("as-of") { try Timestamp.parse($0, endOfDay: true) }
        let services = catalogue.services
        let field = try parameters.parse("topic") { try services.themenfeld(matching: $0) }
        query.filter = ServiceFilter(themenfeld: field?.number, municipalOnly: try parameters.flag("municipal"))
        let statuses = try parameters.all("status")
        if !statuses.isEmpty {
            query.statuses = Set(
                try statuses.map { text in
                    do { return try RowStatus(parsing: text) } catch let error as InputError {
                        var copy = error
                        copy.field = "status"
                        throw copy
                    }
                })
        }
        query.provenance = !(try parameters.flag("without-provenance"))
        self.query = query
    }

    /// Runs the report on a thread of its own and streams what the exporter writes into the response. Errors
    /// before the first byte become a problem response; later ones end the response early.
    func stream(
        store: ServiceStore, catalogue: Catalogue, headers extra: HTTPFields = [:], insertAfterBody: String? = nil
    ) async throws -> Response {
        let stream = ResponseStream()
        let exporter = self.exporter
        let query = self.query
        Thread.detachNewThreadWithLargeStack {
            do {
                // The same runner as `ozgtrack report`: formatting and writing out overlap, and the pass is checked
                // after the rows.
                let runner = ReportRunner()
                try store.withReader { tracking, _ in
                    if let insertAfterBody {
                        let sink = BodyInsertingSink(stream, inserting: insertAfterBody)
                        try runner.run(query, catalogue: catalogue, store: tracking, exporter: exporter, to: .sink(sink))
                        try sink.flush()
                    } else {
                        try runner.run(query, catalogue: catalogue, store: tracking, exporter: exporter, to: .sink(stream))
                    }
                }
                stream.finish(nil)
            } catch {
                stream.finish(error)
            }
        }
        let first = await stream.next()
        if first == nil, let failure = stream.failure { throw failure }
        var headers = extra
        headers[.contentType] = exporter.mediaType.contains("charset") || !exporter.mediaType.hasPrefix("text/")
            ? exporter.mediaType : exporter.mediaType + "; charset=utf-8"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                do {
                    if let first { try await writer.write(first) }
                    while let chunk = await stream.next() { try await writer.write(chunk) }
                } catch {
                    stream.cancel()
                    throw error
                }
                if let failure = stream.failure { throw failure }
                try await writer.finish(nil)
            })
    }
}

extension Thread {
    /// Starts `body` on a new thread with an 8 MiB stack (the main thread's size; reports recurse little, but
    /// exporters and libxml2 expect more than the 512 KiB of a secondary thread).
    static func detachNewThreadWithLargeStack(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 8 << 20
        thread.start()
    }
}

/// One reader's snapshot as a store, for a library call that opens its own read (``StatusView/make``) inside a read
/// the caller already holds. Used on the reader's thread only, while the read lasts.
private final class Snapshot: TrackingStore, @unchecked Sendable {
    private let reader: any TrackingReader

    init(_ reader: any TrackingReader) { self.reader = reader }

    func read<T>(_ body: (any TrackingReader) throws -> T) throws -> T { try body(reader) }

    func write<T>(_ batch: BatchInfo, _ body: (any TrackingWriter) throws -> T) throws -> T {
        throw StoreError("a snapshot is read-only: nothing was written")
    }
}
