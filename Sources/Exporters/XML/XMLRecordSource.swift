public import Foundation
public import OZGCore

/// Reads an ozgtrack XML report (``XMLReportSchema``) back for import: the ministry's workflow of collecting
/// the municipalities' reports and importing them.
///
/// Every `eintrag` with a `status` becomes an `ImportRow`: the key of its `einheit`, its OZG-ID, status,
/// Reifegrad with its model, `geplantZum`, `onlineSeit` (attributes) and `url`, `loesung`, `notiz` (elements).
/// Entries without `status` (untracked) are passed over, and must carry no values; provenance
/// (`aktualisiertAm`, `aktualisiertVon`, `quelle`), `onlineEinschliesslichHoehererEbene` and
/// `bereitgestelltDurch` are ignored, since the import is a new change by whoever imports. Values go through
/// the `RecordValidator` like those of a CSV import, so unknown regions and OZG-IDs give the same messages;
/// every error names the file, the line of the offending element (`einheit`, `eintrag`, `url` …) and the
/// attribute or element (`eintrag/@status`, `notiz`).
///
/// The file is streamed with libxml2's `xmlTextReader` and validated against the embedded schema while it is
/// read; schema violations are reported as row errors with their line, and once one has occurred no further
/// rows are produced (the import fails anyway) while the remaining violations are still reported. Refused
/// outright, with an `InputError` naming file and line: a DOCTYPE (no DTD is ever read, no entity expanded or
/// fetched), XML that is not well-formed, an encoding other than UTF-8, input over the size limit.
public struct XMLRecordSource: RecordSource {
    /// What an optional value missing from a tracked `eintrag` means for the stored record.
    public enum AbsentValues: Sendable {
        /// The `eintrag` is the record's whole state: a missing `notiz`, `url`, `reifegrad` … removes the stored
        /// value (the default; a report lists every value a record has).
        case cleared
        /// A missing element means "not given": the stored value stays (as an empty CSV cell).
        case kept
    }

    /// Where the XML comes from.
    enum Input {
        case path(String)
        case handle(FileHandle)
    }

    /// The file name used in messages.
    public let file: String
    let input: Input
    let validator: RecordValidator
    let maxBytes: Int
    let absentValues: AbsentValues
    /// The files of this import read ahead on another thread, if any.
    let lookAhead: XMLLookAhead?

    /// - Parameters:
    ///   - path: the file.
    ///   - validator: checks values against the loaded catalogue and registry (as for CSV).
    ///   - maxBytes: the largest input accepted (see ``XMLInputLimits/maxBytes``).
    ///   - absentValues: what a missing optional value means (see ``AbsentValues``).
    ///   - lookAhead: reads the files of the import ahead (give every source of one import the same one, made
    ///     with their paths in the order they are read).
    public init(
        path: String, validator: RecordValidator, maxBytes: Int = XMLInputLimits.maxBytes, absentValues: AbsentValues = .cleared,
        lookAhead: XMLLookAhead? = nil
    ) {
        input = .path(path)
        file = path
        self.validator = validator
        self.maxBytes = maxBytes
        self.absentValues = absentValues
        self.lookAhead = lookAhead
    }

    /// Reads what an open handle (standard input, a pipe) delivers; `name` is used as the file name in
    /// messages. The handle is not closed.
    public init(
        handle: FileHandle, name: String, validator: RecordValidator, maxBytes: Int = XMLInputLimits.maxBytes,
        absentValues: AbsentValues = .cleared
    ) {
        input = .handle(handle)
        file = name
        self.validator = validator
        self.maxBytes = maxBytes
        self.absentValues = absentValues
        lookAhead = nil
    }

    /// Calls `body` with every row and every row error (schema violations included), in input order.
    /// - Throws: `InputError` naming file and line when the file cannot be read or is refused as a whole
    ///   (DOCTYPE, not well-formed, too large, not UTF-8); whatever `body` throws.
    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        switch input {
        case .path(let path):
            if let entries = lookAhead?.entries(for: path) ?? Self.fastEntries(path: path, maxBytes: maxBytes) {
                try forEachRow(of: entries, file: path, body)
                return
            }
            try forEachRow(from: XMLInputStream(path: path, maxBytes: maxBytes), body)
        case .handle(let handle): try forEachRow(from: XMLInputStream(handle: handle, name: file, maxBytes: maxBytes), body)
        }
    }

    /// The entries of the file at `path` read by ``XMLReportFastPath``, or `nil` when the fast path does not
    /// take it: not a regular file, larger than ``XMLReportFastPath/maxBytes`` or `maxBytes`, unreadable, or
    /// outside the narrow form the fast path accepts. The caller then reads it with libxml2, which reports
    /// whatever is wrong with it exactly as before.
    static func fastEntries(path: String, maxBytes: Int, buffer: ReadBuffer = ReadBuffer(capacity: 0)) -> FastEntries? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { _ = close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
        let size = Int(status.st_size)
        guard size <= min(maxBytes, XMLReportFastPath.maxBytes) else { return nil }
        buffer.reserve(size + 1)
        let base = buffer.base
        let complete = { () -> Bool in
            var done = 0
            while done < size {
                let count = read(descriptor, base + done, size - done)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return false }
                done += count
            }
            // The file must not have grown meanwhile (libxml2 then reads it as it is).
            return read(descriptor, base + size, 1) == 0
        }()
        guard complete else { return nil }
        return XMLReportFastPath.entries(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: size), memory: buffer.memory)
    }

    /// Whether the import reads the file at `path` with ``XMLReportFastPath`` rather than libxml2 (for tests).
    package static func takesFastPath(_ path: String) -> Bool { fastEntries(path: path, maxBytes: XMLInputLimits.maxBytes) != nil }

    /// Whether ``XMLReportFastPath``, when it takes `bytes`, reads the same rows as libxml2 and libxml2 refuses
    /// nothing; `true` when the fast path does not take them (for the fuzz target: a `false` is a finding).
    package func fastPathAgrees(bytes: [UInt8]) -> Bool {
        guard let entries = bytes.withUnsafeBufferPointer({ XMLReportFastPath.entries($0) }) else { return true }
        var fast: [Result<ImportRow, InputError>] = []
        var streamed: [Result<ImportRow, InputError>] = []
        do {
            try forEachRow(of: entries, file: file) { fast.append($0) }
            try forEachRow(bytes: bytes) { streamed.append($0) }
        } catch {
            return false
        }
        return fast == streamed
    }

    /// The rows of the entries of a document the fast path accepted (a valid document: no schema messages).
    private func forEachRow(of entries: FastEntries, file: String, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        /// The unit whose key was refused: its further entries are passed over without repeating the error.
        var refusedUnit: Int32?
        var rows = FastRows(source: self, entries: entries, file: file)
        try rows.withBytes { arena, spans in
            for index in 0..<entries.count {
                let unit = entries.heads[index].unit
                guard unit != refusedUnit, let result = rows.row(index, arena: arena, spans: spans) else { continue }
                if case .failure(let error) = result, error.field == XMLEntry.Field.region.elementName { refusedUnit = unit }
                try body(result)
            }
        }
    }

    /// Calls `body` with every row of an XML document held in memory (for the fuzz target and tests).
    package func forEachRow(bytes: [UInt8], _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try forEachRow(from: XMLInputStream(bytes: bytes, name: file, maxBytes: maxBytes), body)
    }

    private func forEachRow(from input: XMLInputStream, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        let diagnostics = LibXMLDiagnostics()
        try LibXMLErrorScope.run(diagnostics) {
            let reader = try XMLStreamReader(input: input, diagnostics: diagnostics)
            var extractor = XMLEntryExtractor(reader: reader, file: input.file)
            var messages = XMLSchemaMessages()
            /// The unit whose key was refused: its further entries are passed over without repeating the error.
            var refusedUnit: Int?
            func report() throws {
                for problem in diagnostics.take() where !problem.isWarning {
                    if let issue = messages.issue(problem, file: input.file) { try body(.failure(issue.inputError)) }
                }
            }
            while try reader.next() {
                try report()
                guard let entry = extractor.step() else { continue }
                // Rows only from a document valid so far: the schema has checked every value's form.
                guard diagnostics.errorCount == 0, entry.unit != refusedUnit, let result = makeRow(entry, file: input.file) else {
                    continue
                }
                if case .failure(let error) = result, error.field == XMLEntry.Field.region.elementName { refusedUnit = entry.unit }
                try body(result)
            }
            try report()
        }
    }

    /// The fields an entry clears when it leaves them out (status is always given; the model goes with the level).
    static let clearable: [XMLEntry.Field] = XMLEntry.Field.recordFields.filter { $0 != .status && $0 != .maturityModel }

    /// The fields to clear for each combination of absent ``clearable`` fields (bit `i`: `clearable[i]` is
    /// absent), made once rather than hashed into a new set per entry.
    static let cleared: [Set<RecordField>] = (0..<(1 << clearable.count)).map { mask in
        Set(clearable.enumerated().compactMap { bit, field in mask & (1 << bit) != 0 ? field.recordField : nil })
    }

    /// The row for one entry, its error, or `nil` when it is passed over (untracked, or skipped as unknown).
    func makeRow(_ entry: XMLEntry, file: String) -> Result<ImportRow, InputError>? {
        let rowLine = entry.line
        guard entry.isTracked else {
            // An untracked entry with values would lose them silently.
            if let field = XMLEntry.Field.recordFields.first(where: { entry.value($0) != nil }) {
                return .failure(
                    InputError(
                        file: file, line: rowLine, field: XMLEntry.Field.status.elementName,
                        message: "is missing on an entry with values (\(field.elementName)): expected a status, "
                            + "or no values on an untracked entry"))
            }
            return nil
        }
        let regionText = entry.text(.region)
        let serviceText = entry.text(.service)
        do throws(InputError) {
            let region: RegionKey?
            do {
                region = try validator.region(regionText, field: XMLEntry.Field.region.elementName)
            } catch {
                throw error.located(file: file, line: entry.line(.region))
            }
            guard let region else {
                validator.skip("\(file):\(rowLine): region \(regionText.quotedForMessage) is not in the registry: skipped")
                return nil
            }
            let service: OZGID?
            do {
                service = try validator.service(serviceText, field: XMLEntry.Field.service.elementName)
            } catch {
                throw error.located(file: file, line: entry.line(.service))
            }
            guard let service else {
                validator.skip("\(file):\(rowLine): OZG-ID \(serviceText.quotedForMessage) is not in the catalogue: skipped")
                return nil
            }
            // Reifegrad and model come as a pair (the schema cannot say so).
            if entry.value(.maturity) != nil, entry.value(.maturityModel) == nil {
                throw InputError(
                    file: file, line: rowLine, field: XMLEntry.Field.maturityModel.elementName,
                    message: "is missing next to reifegrad: expected modell 1 or 2 with every reifegrad")
            }
            if entry.value(.maturity) == nil, let model = entry.value(.maturityModel) {
                throw InputError(
                    file: file, line: rowLine, field: XMLEntry.Field.maturity.elementName,
                    message: "is missing next to modell \(model.quotedForMessage): expected a reifegrad with every modell")
            }
            // Field by field in the order of `RecordValidator.update(_:)`, with its checks and messages (a
            // dictionary of the texts cost a tenth of the collection's import in hashing).
            var update: RecordUpdate
            do throws(InputError) {
                update = RecordUpdate(
                    status: try validator.status(entry.text(.status)), maturity: try validator.maturity(entry.text(.maturity)),
                    maturityModel: try validator.maturityModel(entry.text(.maturityModel)),
                    planned: try validator.date(entry.text(.planned), field: RecordField.planned.rawValue),
                    onlineSince: try validator.date(entry.text(.onlineSince), field: RecordField.onlineSince.rawValue),
                    url: try validator.url(entry.text(.url)), solution: try validator.text(entry.text(.solution), field: .solution),
                    note: try validator.text(entry.text(.note), field: .note))
            } catch {
                let field = XMLEntry.Field.forRecordField(error.field)
                throw InputError(
                    file: file, line: field.map { entry.line($0) } ?? rowLine, field: field?.elementName ?? error.field,
                    message: error.message)
            }
            if let level = update.maturity {
                do {
                    try RecordValues.validateMaturity(level, model: update.maturityModel ?? .v1)
                } catch {
                    throw InputError(
                        file: file, line: entry.line(.maturity), field: XMLEntry.Field.maturity.elementName, message: error.message)
                }
            }
            if absentValues == .cleared {
                var absent = 0
                for (bit, field) in Self.clearable.enumerated() where entry.value(field) == nil { absent |= 1 << bit }
                if update.clear.isEmpty {
                    update.clear = Self.cleared[absent]
                } else {
                    update.clear.formUnion(Self.cleared[absent])
                }
            }
            return .success(ImportRow(file: file, line: rowLine, key: RecordKey(region: region, service: service), update: update))
        } catch {
            return .failure(error.located(file: file, line: rowLine))
        }
    }
}
