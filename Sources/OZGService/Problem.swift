import Foundation
import Hummingbird
import OZGCore

/// An RFC 9457 problem details document (`application/problem+json`).
struct Problem: HTTPResponseError, Encodable, Sendable {
    /// One located issue (a bad row of an import, a bad field).
    struct Issue: Encodable, Sendable {
        var file: String?
        var line: Int?
        var field: String?
        var message: String
        /// The message as the command-line tool prints it (`FILE:LINE: field: message`).
        var text: String
    }

    var type: String
    var title: String
    var statusCode: Int
    var detail: String
    /// Located issues, at most ``Importer/errorLimit`` of them.
    var errors: [Issue]?
    /// How many issues were found in all.
    var total: Int?
    /// Seconds after which a refused request may be tried again (sent as `Retry-After`).
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, type: String, detail: String, errors: [Issue]? = nil, total: Int? = nil) {
        self.type = "https://ozgtrack.invalid/problems/" + type
        self.title = status.reasonPhrase
        self.statusCode = status.code
        self.detail = detail
        self.errors = errors
        self.total = total
    }

    static func unauthorized(_ detail: String) -> Problem { Problem(.unauthorized, type: "unauthorized", detail: detail) }
    static func forbidden(_ detail: String) -> Problem { Problem(.forbidden, type: "forbidden", detail: detail) }
    static func notFound(_ detail: String) -> Problem { Problem(.notFound, type: "not-found", detail: detail) }

    /// 429 with `Retry-After`.
    static func rateLimited(_ detail: String, retryAfter: Int) -> Problem {
        var problem = Problem(.tooManyRequests, type: "rate-limited", detail: detail)
        problem.retryAfter = retryAfter
        return problem
    }

    /// A problem with a request's parameters (400) or its body (422).
    static func input(_ error: InputError, inBody: Bool) -> Problem {
        Problem(
            inBody ? .unprocessableContent : .badRequest, type: "invalid-input", detail: error.description,
            errors: [Issue(error)], total: 1)
    }

    /// Every bad row of an import (422); nothing was written.
    static func input(_ errors: InputErrors) -> Problem {
        Problem(
            .unprocessableContent, type: "invalid-input",
            detail: "\(errors.total) bad row\(errors.total == 1 ? "" : "s"): nothing was written",
            errors: errors.errors.map(Issue.init), total: errors.total)
    }

    enum CodingKeys: String, CodingKey {
        case type, title, statusCode = "status", detail, errors, total
    }

    var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    func response(from request: Request, context: some RequestContext) throws -> Response { response }

    /// The response carrying this problem.
    var response: Response {
        let data = (try? JSON.encode(self)) ?? #"{"title":"Internal Server Error","status":500}"#
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if statusCode == 401 { headers[.wwwAuthenticate] = #"Bearer realm="ozgtrack""# }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: data + "\n")))
    }
}

extension Problem.Issue {
    init(_ error: InputError) {
        file = error.file
        line = error.line
        field = error.field
        message = error.message
        text = error.description
    }
}

extension Problem {
    /// The problem for an error a library threw while serving a request.
    static func from(_ error: any Error, inBody: Bool) -> Problem {
        switch error {
        case let problem as Problem: return problem
        case let error as InputError: return .input(error, inBody: inBody)
        case let error as InputErrors: return .input(error)
        case let error as ExporterErrorBox: return Problem(.badRequest, type: "unknown-format", detail: error.description)
        case let error as StoreError: return Problem(.serviceUnavailable, type: "store-unavailable", detail: error.description)
        case let error as any DescribedError: return Problem(.internalServerError, type: "internal", detail: error.description)
        default: return Problem(.internalServerError, type: "internal", detail: "the request failed: \(Swift.type(of: error))")
        }
    }
}

/// An unknown report format, named with the formats there are.
struct ExporterErrorBox: Error, CustomStringConvertible {
    var description: String
}
