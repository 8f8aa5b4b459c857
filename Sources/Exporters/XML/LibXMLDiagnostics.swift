import CLibXML

/// One problem libxml2 reported (a parse error, a schema validity error, a writer error).
struct LibXMLProblem: Sendable, Hashable {
    /// The libxml2 module that reported it (`XML_FROM_PARSER`, `XML_FROM_SCHEMASV` …).
    var domain: Int32
    /// libxml2's error code.
    var code: Int32
    /// Whether the problem ends parsing (`XML_ERR_FATAL`).
    var isFatal: Bool
    var isWarning: Bool
    /// The 1-based line (0 when libxml2 gave none).
    var line: Int
    /// The 1-based column, when libxml2 gave one.
    var column: Int?
    /// libxml2's message, without its trailing line break.
    var message: String

    /// Whether the problem is a schema validity error.
    var isValidity: Bool { domain == Int32(XML_FROM_SCHEMASV.rawValue) }
}

/// Collects what libxml2 reports through its structured error handlers, so that libxml2 prints nothing itself.
///
/// Handed to C as an unretained pointer (``opaque``); whoever installs it keeps it alive for as long as
/// libxml2 may call back.
final class LibXMLDiagnostics {
    /// The problems not yet taken (see ``take()``).
    private(set) var problems: [LibXMLProblem] = []
    /// All errors reported so far (warnings not counted).
    private(set) var errorCount = 0
    /// All schema validity errors reported so far.
    private(set) var validityErrorCount = 0
    /// At most this many problems are kept between two ``take()``s; the rest are only counted.
    let limit = 10_000
    /// Problems dropped because ``limit`` was reached.
    private(set) var dropped = 0
    /// Gives the position where the parser is while it reports (an exact line for validity errors, which
    /// libxml2 raises while parsing, ahead of a reader's current node).
    var position: (() -> (line: Int, column: Int)?)?

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    func record(_ error: xmlError) {
        let level = error.level
        if level == XML_ERR_NONE { return }
        let isWarning = level == XML_ERR_WARNING
        var line = Int(error.line)
        var column: Int? = error.int2 > 0 ? Int(error.int2) : nil
        let domain = Int32(bitPattern: UInt32(truncatingIfNeeded: error.domain))
        if domain == Int32(XML_FROM_SCHEMASV.rawValue), let here = position?() {
            line = here.line
            column = here.column > 0 ? here.column : nil
        }
        var message = error.message.map { String(cString: $0) } ?? "unknown libxml2 error \(error.code)"
        while message.last?.isNewline == true { message.removeLast() }
        if !isWarning {
            errorCount += 1
            if domain == Int32(XML_FROM_SCHEMASV.rawValue) { validityErrorCount += 1 }
        }
        guard problems.count < limit else {
            dropped += 1
            return
        }
        problems.append(
            LibXMLProblem(
                domain: domain, code: error.code, isFatal: level == XML_ERR_FATAL, isWarning: isWarning, line: line,
                column: column, message: message))
    }

    /// The problems reported since the last call, in order.
    func take() -> [LibXMLProblem] {
        defer { problems.removeAll(keepingCapacity: true) }
        return problems
    }
}

/// The C entry point of every structured error handler ozgtrack installs: the context is a ``LibXMLDiagnostics``.
let libXMLStructuredErrorHandler: xmlStructuredErrorFunc = { context, error in
    guard let context, let error else { return }
    Unmanaged<LibXMLDiagnostics>.fromOpaque(context).takeUnretainedValue().record(error.pointee)
}

/// Routes libxml2's thread-wide error channel to a ``LibXMLDiagnostics`` while some work runs.
///
/// libxml2 reports some problems (writer and I/O errors, a few parser errors before a context exists) through
/// its global, per-thread structured handler rather than a context's own; without one installed it prints
/// them to standard error. The previous handler is restored afterwards.
enum LibXMLErrorScope {
    /// libxml2's one-time set-up, run once per process before first use.
    private static let initialized: Void = xmlInitParser()

    static func run<T, E: Error>(_ diagnostics: LibXMLDiagnostics, _ body: () throws(E) -> T) throws(E) -> T {
        _ = initialized
        let savedHandler = __xmlStructuredError().pointee
        let savedContext = __xmlStructuredErrorContext().pointee
        xmlSetStructuredErrorFunc(diagnostics.opaque, libXMLStructuredErrorHandler)
        defer {
            xmlSetStructuredErrorFunc(savedContext, savedHandler)
            withExtendedLifetime(diagnostics) {}
        }
        return try body()
    }
}
