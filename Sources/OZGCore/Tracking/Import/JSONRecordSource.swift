import Foundation

/// Rows of ozgtrack's import JSON: an array of objects (or `{"records": [...]}`) with the CSV format's
/// column names as keys; values are strings or numbers, `null` or a missing key mean "not given".
public struct JSONRecordSource: RecordSource {
    public let file: String
    let input: InputSource
    let validator: RecordValidator

    /// The file at `path` (no name is special: standard input is ``InputSource/standardInput``).
    public init(path: String, validator: RecordValidator) {
        self.init(input: .file(path), validator: validator)
    }

    public init(input: InputSource, validator: RecordValidator) {
        self.input = input
        self.file = input.name
        self.validator = validator
    }

    public func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        try InputFile.withBytes(input) { bytes in try forEachRow(bytes: bytes, body) }
    }

    /// The rows of a JSON document's bytes; also the entry point for fuzzing.
    package func forEachRow(bytes: UnsafeRawBufferPointer, _ body: (Result<ImportRow, InputError>) throws -> Void) throws {
        let document = try parseJSON(bytes, file: file)
        let records: [Any]
        let lines: [Int]
        let located = JSONLineLocator.objectLines(bytes)
        if let array = document as? [Any] {
            records = array
            lines = located[""] ?? []
        } else if let object = document as? [String: Any], let array = object["records"] as? [Any] {
            records = array
            lines = located["records"] ?? []
        } else {
            throw InputError(.malformed, file: file, line: 1, message: "expected an array of records or an object {\"records\": [...]}")
        }
        for (index, element) in records.enumerated() {
            let line = index < lines.count ? lines[index] : nil
            let result: Result<ImportRow, InputError>
            do throws(InputError) {
                guard let object = element as? [String: Any] else {
                    throw InputError(.malformed, message: "record \(index + 1) is not an object: expected {\"region\": ..., \"ozg_id\": ...}")
                }
                for key in object.keys.sorted() where !CSVRecordSource.columns.contains(key) {
                    throw InputError(.unknownField, field: key, message: "unknown key: expected \(CSVRecordSource.columns.joined(separator: ", "))")
                }
                let regionText = try jsonText(object["region"], field: "region")
                let serviceText = try jsonText(object["ozg_id"], field: "ozg_id")
                if regionText.isEmpty { throw InputError(.missingValue, field: "region", message: "missing: expected a region key") }
                if serviceText.isEmpty { throw InputError(.missingValue, field: "ozg_id", message: "missing: expected an OZG-ID") }
                guard let region = try validator.region(regionText) else {
                    validator.skip("\(file):\(line ?? 0): region \(regionText.quotedForMessage) is not in the registry: skipped")
                    continue
                }
                guard let service = try validator.service(serviceText) else {
                    validator.skip("\(file):\(line ?? 0): OZG-ID \(serviceText.quotedForMessage) is not in the catalogue: skipped")
                    continue
                }
                var texts: [RecordField: String] = [:]
                for field in RecordField.allCases { texts[field] = try jsonText(object[field.rawValue], field: field.rawValue) }
                let update = try validator.update(texts)
                result = .success(ImportRow(file: file, line: line ?? index + 1, key: RecordKey(region: region, service: service), update: update))
            } catch {
                result = .failure(error.located(file: file, line: line))
            }
            try body(result)
        }
    }
}
