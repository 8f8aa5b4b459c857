/// Rows of the open-data export of the federal "Dashboard Digitale Verwaltung" (the PVOG data behind it).
///
/// The export has one row per LeiKa service and region (`leika_key`, `leika_name`, `ars`, `ars_name`,
/// `ars_federal_state`, `bundesland`, `leika_bezeichnung`, `ozgid`, `ozg_bezeichnung`, `url`, `online_status`,
/// `aktiv`, `art_flaechendeckung`), as CSV or as JSON pages `{"content": [...]}` (one page, or an array of
/// pages). ozgtrack records per OZG-Leistung, so the rows of one region and OZG-ID are combined:
///
/// | dashboard rows of a region and OZG-ID | ozgtrack |
/// |---|---|
/// | at least one `aktiv = ja` with `online_status = ok` | `online`, with the URL of the first such row |
/// | else at least one `aktiv = ja` (its link check is `nicht ok`) | `in_progress`: registered, but not reachable |
/// | only `aktiv = nein` or empty | skipped and listed: the dashboard says nothing about the status |
///
/// Rows without an OZG-ID are skipped and listed. Maturity, dates, solution and note are not in the export
/// and stay as stored; `art_flaechendeckung`, names and the Land columns are informational. The ARS may be
/// zero-padded for higher levels (`080000000000` is Land 08). The same `ars` and `leika_key` twice is an
/// error.
public struct DashboardSource: RecordSource {
    public let file: String
    let input: InputSource
    let validator: RecordValidator
    let delimiter: CSVDelimiter?

    /// The file at `path` (no name is special: standard input is ``InputSource/standardInput``).
    public init(path: String, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.init(input: .file(path), validator: validator, delimiter: delimiter)
    }

    public init(input: InputSource, validator: RecordValidator, delimiter: CSVDelimiter? = nil) {
        self.input = input
        self.file = input.name
        self.validator = validator
        self.delimiter = delimiter
    }

    /// The columns of the export.
    public static let fields = [
        "leika_key", "leika_name", "ars", "ars_name", "ars_federal_state", "bundesland", "leika_bezeichnung", "ozgid",
        "ozg_bezeichnung", "url", "online_status", "aktiv", "art_flaechendeckung",
    ]
    static let required = ["leika_key", "ars", "ozgid", "url", "online_status", "aktiv"]

    /// One dashboard row, as text.
    struct Row {
        var line: Int
        var values: [String: String]
        subscript(_ field: String) -> String { values[field] ?? "" }
    }

    private struct Group {
        var line: Int
        var key: RecordKey
        var online: String?
        var active = false
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try InputFile.withBytes(input) { bytes in try forEachRow(bytes: bytes, body) }
    }

    /// The rows of an export's bytes; also the entry point for fuzzing.
    package func forEachRow(bytes: UnsafeRawBufferPointer, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        var groups: [RecordKey: Group] = [:]
        var order: [RecordKey] = []
        var seen: [String: Int] = [:]
        try readRows(bytes) { row in
            let result: Result<Void, InputError>
            do throws(InputError) {
                try add(row, to: &groups, order: &order, seen: &seen)
                result = .success(())
            } catch {
                result = .failure(error.located(file: file, line: row.line))
            }
            if case .failure(let error) = result { try body(.failure(error)) }
        }
        for key in order {
            guard let group = groups[key] else { continue }
            var update = RecordUpdate()
            if let url = group.online {
                update.status = .online
                update.url = url
            } else if group.active {
                update.status = .inProgress
            } else {
                validator.skip(
                    "\(file):\(group.line): region \(key.region), OZG-ID \(key.service) is not active in the dashboard: left unchanged")
                continue
            }
            try body(.success(ImportRow(file: file, line: group.line, key: key, update: update)))
        }
    }

    private func add(_ row: Row, to groups: inout [RecordKey: Group], order: inout [RecordKey], seen: inout [String: Int])
        throws(InputError)
    {
        let leika = row["leika_key"]
        if !leika.isEmpty {
            do {
                _ = try LeiKaKey(leika)
            } catch {
                throw error.inField("leika_key")
            }
        }
        let ars = row["ars"]
        let identity = ars + "/" + leika
        if let first = seen[identity] {
            throw InputError(
                field: "leika_key",
                message: "ars \(ars) and leika_key \(leika) appear again (first on line \(first)): expected each once")
        }
        seen[identity] = row.line
        let status = row["online_status"].lowercased()
        guard status == "ok" || status == "nicht ok" else {
            throw InputError(field: "online_status", message: "\(row["online_status"].quotedForMessage): expected ok or nicht ok")
        }
        let active = row["aktiv"].lowercased()
        guard ["ja", "nein", "", "null"].contains(active) else {
            throw InputError(field: "aktiv", message: "\(row["aktiv"].quotedForMessage): expected ja, nein or empty")
        }
        if ars.isEmpty { throw InputError(field: "ars", message: "missing: expected a 12-digit ARS") }
        do {
            _ = try ARS(ars)
        } catch {
            throw error.inField("ars")
        }
        guard let region = try validator.region(ars, field: "ars") else {
            validator.skip("\(file):\(row.line): ARS \(ars.quotedForMessage) is not in the registry: skipped")
            return
        }
        let ozgText = row["ozgid"]
        if ozgText.isEmpty || ozgText == "null" {
            validator.skip("\(file):\(row.line): LeiKa service \(leika) has no OZG-ID: skipped")
            return
        }
        let padded = Digits.all(ozgText) && ozgText.count < 5 ? String(repeating: "0", count: 5 - ozgText.count) + ozgText : ozgText
        guard let service = try validator.service(padded, field: "ozgid") else {
            validator.skip("\(file):\(row.line): OZG-ID \(ozgText.quotedForMessage) is not in the catalogue: skipped")
            return
        }
        let key = RecordKey(region: region, service: service)
        var group = groups[key] ?? Group(line: row.line, key: key)
        if groups[key] == nil { order.append(key) }
        if active == "ja" {
            group.active = true
            if status == "ok" && group.online == nil {
                let url = row["url"]
                if url.isEmpty { throw InputError(field: "url", message: "missing for an active service: expected its URL") }
                group.online = try validator.url(url)
            }
        }
        groups[key] = group
    }

    private func readRows(_ bytes: UnsafeRawBufferPointer, _ body: (Row) throws -> Void) throws {
        var start = 0
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == 0x7B || bytes[start] == 0x5B {
            try readJSON(bytes, body)
        } else {
            try readCSV(bytes, body)
        }
    }

    private func readCSV(_ bytes: UnsafeRawBufferPointer, _ body: (Row) throws -> Void) throws {
        let table = try CSVTable(bytes: bytes, file: file, required: Self.required, delimiter: delimiter)
        while try table.next() {
            var values: [String: String] = [:]
            for name in Self.fields where table.index(name) != nil { values[name] = try table.text(name) }
            try body(Row(line: table.line, values: values))
        }
    }

    private func readJSON(_ bytes: UnsafeRawBufferPointer, _ body: (Row) throws -> Void) throws {
        let document = try parseJSON(bytes, file: file)
        let located = JSONLineLocator.objectLines(bytes)
        var rows: [Any] = []
        var lines: [Int] = []
        if let page = document as? [String: Any], let content = page["content"] as? [Any] {
            rows = content
            lines = located["content"] ?? []
        } else if let pages = document as? [Any], pages.allSatisfy({ ($0 as? [String: Any])?["content"] is [Any] }) {
            rows = pages.flatMap { (($0 as? [String: Any])?["content"] as? [Any]) ?? [] }
            lines = located["content"] ?? []
        } else if let array = document as? [Any] {
            rows = array
            lines = located[""] ?? []
        } else {
            throw InputError(file: file, line: 1, message: "expected a dashboard page {\"content\": [...]} or an array of pages")
        }
        for (index, element) in rows.enumerated() {
            let line = index < lines.count ? lines[index] : index + 1
            guard let object = element as? [String: Any] else {
                throw InputError(file: file, line: line, message: "entry \(index + 1) is not an object: expected a dashboard row")
            }
            var values: [String: String] = [:]
            for name in Self.fields {
                do throws(InputError) {
                    values[name] = try jsonText(object[name], field: name)
                } catch {
                    throw error.located(file: file, line: line)
                }
            }
            for name in Self.required where object[name] == nil {
                throw InputError(file: file, line: line, field: name, message: "missing: expected the dashboard's field \(name)")
            }
            try body(Row(line: line, values: values))
        }
    }
}
