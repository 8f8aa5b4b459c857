import Exporters
import Foundation
import Hummingbird
import NIOCore
import OZGCore

/// The write API: `PUT status/{region}/{ozgId}` (the `set` command) and `POST import` (the `import` command), with the
/// libraries' validation and transaction; the service adds only who may write where.
struct WriteAPI: Sendable {
    let server: OZGServer
    var catalogue: Catalogue { server.catalogue }

    /// The body fields of `PUT status/{region}/{ozgId}`: the columns of the import CSV, plus `clear`.
    static let setFields = RecordField.allCases.map(\.rawValue) + ["clear"]

    /// `PUT status/{region}/{ozgId}?dry-run=`: records the fields of a JSON object (`status`, `maturity`,
    /// `maturity_model`, `planned`, `online_since`, `url`, `solution`, `note`; `clear`: fields to remove).
    func set(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        let access = try server.requireWriter(context)
        let query = Query(request: request)
        let dryRun = try query.flag("dry-run")
        let catalogue = self.catalogue
        let validator = RecordValidator(catalogue: catalogue)
        let regionText = context.parameters.get("region") ?? ""
        let serviceText = context.parameters.get("ozgId") ?? ""
        guard let region = try validator.region(regionText, field: "region"),
            let service = try validator.service(serviceText, field: "ozgId")
        else { throw InputError(message: "unknown key") }
        try access.check(region)
        let body = try await request.body.collect(upTo: 1 << 20)
        var update: RecordUpdate
        do {
            update = try Self.update(from: Data(buffer: body), validator: validator)
        } catch {
            throw Problem.from(error, inBody: true)
        }
        let key = RecordKey(region: region, service: service)
        let batch = BatchInfo(actor: access.token.name, source: "api", command: "set")
        let store = server.store
        let finalUpdate = update
        let outcome: SetOutcome
        do {
            outcome = try await server.workers.run {
                try Importer.set(key, finalUpdate, into: store.tracking, batch: batch, dryRun: dryRun)
            }
        } catch {
            throw Problem.from(error, inBody: true)
        }
        return try .json(
            SetResultItem(
                result: outcome.changed ? "updated" : "unchanged", created: outcome.created, dryRun: dryRun,
                region: region.description, ozgID: service.description,
                record: outcome.record.map { RecordItem($0, catalogue: catalogue) }))
    }

    /// The update a `PUT` body asks for. Values may be JSON strings or numbers; `null` or `""` mean "not given".
    static func update(from data: Data, validator: RecordValidator) throws -> RecordUpdate {
        let fields: [String: JSONValue]
        do {
            fields = try JSONDecoder().decode([String: JSONValue].self, from: data.isEmpty ? Data("{}".utf8) : data)
        } catch {
            throw InputError(file: "body", message: "is not a JSON object: expected an object such as {\"status\": \"online\"}")
        }
        var texts: [RecordField: String] = [:]
        var clear: Set<RecordField> = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            if name == "clear" {
                guard case .strings(let names) = value else {
                    throw InputError(file: "body", field: "clear", message: "expected an array of field names")
                }
                for item in names {
                    guard let field = RecordField(rawValue: item) else {
                        throw InputError(
                            file: "body", field: "clear",
                            message: "\(item.quotedForMessage) is not a field: expected one of \(RecordField.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    clear.insert(field)
                }
                continue
            }
            guard let field = RecordField(rawValue: name) else {
                throw InputError(
                    file: "body", field: name, message: "unknown field: expected one of \(setFields.joined(separator: ", "))")
            }
            switch value {
            case .null: continue
            case .text(let text): texts[field] = text
            case .strings, .other: throw InputError(file: "body", field: name, message: "expected a string or a number")
            }
        }
        var update: RecordUpdate
        do throws(InputError) {
            update = try validator.update(texts)
        } catch {
            throw error.located(file: "body", line: nil)
        }
        update.clear.formUnion(clear)
        return update
    }

    /// `POST import?format=&dry-run=&skip-unknown=`: one import, all rows or none. The format comes from `format`
    /// or the Content-Type: `text/csv`, `application/json`, `application/xml` (or `text/xml`), and
    /// `application/vnd.ozgtrack.dashboard+csv` / `+json` for the dashboard export. Every row must lie within the
    /// token's scope, or the import is refused (403) and writes nothing.
    func importRecords(_ request: Request, _ context: OZGRequestContext) async throws -> Response {
        let access = try server.requireWriter(context)
        let query = Query(request: request)
        let format = try Self.format(query: query, contentType: request.headers[.contentType])
        let dryRun = try query.flag("dry-run")
        let skipUnknown = try query.flag("skip-unknown")
        let limit = server.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Self.tooLarge(limit)
        }
        let upload = try await Upload.receive(request.body, fileExtension: format.fileExtension, limit: limit, workers: server.workers)
        defer { upload.remove() }
        let catalogue = self.catalogue
        let store = server.store
        let batch = BatchInfo(actor: access.token.name, source: "api", command: "import")
        let path = upload.path
        do {
            let summary = try await Workers.onOwnThread {
                let validator = RecordValidator(catalogue: catalogue, skipUnknown: skipUnknown)
                let source: any RecordSource =
                    switch format {
                    case .csv: CSVRecordSource(path: path, validator: validator)
                    case .json: JSONRecordSource(path: path, validator: validator)
                    case .dashboardCSV, .dashboardJSON: DashboardSource(path: path, validator: validator)
                    case .xml: XMLRecordSource(path: path, validator: validator)
                    }
                return try Importer.run(
                    [ScopedSource(base: source, access: access)], into: store.tracking, batch: batch, validator: validator, dryRun: dryRun)
            }
            return try .json(summary)
        } catch var errors as InputErrors {
            errors.errors = errors.errors.map { Self.renamed($0, path: path) }
            throw Problem.input(errors)
        } catch let error as InputError {
            throw Problem.input(Self.renamed(error, path: path), inBody: true)
        } catch {
            throw Problem.from(error, inBody: true)
        }
    }

    /// The error with the upload's temporary path replaced by `body`.
    static func renamed(_ error: InputError, path: String) -> InputError {
        var copy = error
        if copy.file == path { copy.file = "body" }
        copy.message = copy.message.replacingOccurrences(of: path, with: "body")
        return copy
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, type: "too-large", detail: "the request body is larger than \(limit) bytes: nothing was written")
    }

    /// The import formats, by the media types that name them.
    enum Format: String, CaseIterable {
        case csv, json, dashboardCSV = "dashboard", dashboardJSON = "dashboard-json", xml

        var fileExtension: String {
            switch self {
            case .csv, .dashboardCSV: "csv"
            case .json, .dashboardJSON: "json"
            case .xml: "xml"
            }
        }
    }

    static func format(query: Query, contentType: String?) throws -> Format {
        if let name = try query.text("format") {
            guard let format = Format(rawValue: name) else {
                throw InputError(
                    field: "format",
                    message: "\(name.quotedForMessage) is not an import format: expected one of \(Format.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return format
        }
        let media = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch media {
        case "text/csv": return .csv
        case "application/json": return .json
        case "application/xml", "text/xml": return .xml
        case "application/vnd.ozgtrack.dashboard+csv": return .dashboardCSV
        case "application/vnd.ozgtrack.dashboard+json": return .dashboardJSON
        default:
            throw Problem(
                .unsupportedMediaType, type: "unsupported-media-type",
                detail: "Content-Type \(media.isEmpty ? "missing" : media.quotedForMessage): expected text/csv, application/json, "
                    + "application/xml, application/vnd.ozgtrack.dashboard+csv or application/vnd.ozgtrack.dashboard+json")
        }
    }
}

/// A request body saved to a temporary file as it arrives (so that a national import needs no memory for it), then
/// read by the same record sources as a file named on the command line.
struct Upload: Sendable {
    let directory: URL
    let path: String

    static func receive(_ body: RequestBody, fileExtension: String, limit: Int, workers: Workers) async throws -> Upload {
        let directory = FileManager.default.temporaryDirectory.appending(path: "ozgtrack-upload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        let upload = Upload(directory: directory, path: directory.appending(path: "body.\(fileExtension)").path)
        do {
            let descriptor = open(upload.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw StoreError("cannot save the request body: \(String(cString: strerror(errno)))") }
            let file = Descriptor(value: descriptor)
            defer { close(descriptor) }
            var pending = ByteBuffer()
            var total = 0
            for try await part in body {
                total += part.readableBytes
                if total > limit { throw WriteAPI.tooLarge(limit) }
                var part = part
                pending.writeBuffer(&part)
                if pending.readableBytes >= 1 << 20 {
                    let chunk = pending
                    pending = ByteBuffer()
                    try await workers.run { try file.write(chunk) }
                }
            }
            if pending.readableBytes > 0 {
                let chunk = pending
                try await workers.run { try file.write(chunk) }
            }
        } catch {
            upload.remove()
            throw error
        }
        return upload
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// An open file descriptor to write a buffer to.
struct Descriptor: Sendable {
    let value: Int32

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(value, base + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw StoreError("cannot save the request body: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }
}

/// A value of a `PUT` body: text (a string, or a number as written), a list of strings, null, or anything else.
enum JSONValue: Decodable {
    case text(String)
    case strings([String])
    case null
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if (try? container.decode(Bool.self)) != nil {
            self = .other
        } else if let number = try? container.decode(Int.self) {
            self = .text(String(number))
        } else if let number = try? container.decode(Double.self) {
            self = .text(String(number))
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let list = try? container.decode([String].self) {
            self = .strings(list)
        } else {
            self = .other
        }
    }
}
