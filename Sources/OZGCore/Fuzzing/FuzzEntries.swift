import Foundation

/// What the fuzz targets (`Fuzz/`, built with `scripts/fuzz.sh`) feed arbitrary bytes into, and what the
/// regression test replays the kept corpus through. Each entry must return normally for every input: errors
/// are expected, crashes, hangs and leaks are findings.
package enum FuzzEntries {
    /// The built-in catalogue, read once.
    package static let catalogue: Catalogue? = try? Catalogue.builtIn()

    /// The CSV reader, the import CSV and the dashboard CSV.
    package static func csv(_ bytes: UnsafeRawBufferPointer) {
        if let reader = try? CSVReader(bytes: bytes, file: "fuzz.csv") {
            var records = 0
            while records < 100_000, (try? reader.next()) == true {
                _ = try? reader.strings()
                records += 1
            }
        }
        guard let catalogue else { return }
        let validator = RecordValidator(catalogue: catalogue, skipUnknown: bytes.count % 2 == 0)
        let source = CSVRecordSource(path: "fuzz.csv", validator: validator)
        try? source.forEachRow(in: InputBytes(bytes: bytes)) { result in
            if case .success(let row) = result { _ = try? row.update.applied(to: nil) }
        }
        try? DashboardSource(path: "fuzz.csv", validator: validator).forEachRow(bytes: bytes) { _ in }
    }

    /// The JSON import, the dashboard's JSON pages and the line locator.
    package static func json(_ bytes: UnsafeRawBufferPointer) {
        _ = JSONLineLocator.objectLines(bytes)
        guard let catalogue else { return }
        let validator = RecordValidator(catalogue: catalogue)
        try? JSONRecordSource(path: "fuzz.json", validator: validator).forEachRow(bytes: bytes) { result in
            if case .success(let row) = result { _ = try? row.update.applied(to: nil) }
        }
        try? DashboardSource(path: "fuzz.json", validator: validator).forEachRow(bytes: bytes) { _ in }
    }

    /// Every parser of single values: keys, dates, statuses, LeiKa types, URLs, texts, timestamps.
    package static func keys(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? OZGID(text)
        _ = try? LeiKaKey(text)
        _ = try? AGS(text)
        _ = try? ARS(text)
        if let key = try? RegionKey(text) { _ = catalogue?.regions.resolve(key) }
        _ = ISODate(text)
        _ = ISODate(utf8: bytes.bindMemory(to: UInt8.self))
        _ = try? Status(parsing: text)
        _ = try? RowStatus(parsing: text)
        _ = try? MaturityModel(parsing: text)
        _ = try? LeiKaType(raw: text)
        _ = try? RecordValues.validateURL(text)
        _ = try? RecordValues.validateText(text, limit: RecordValues.maxNoteLength, multiline: true)
        _ = try? Timestamp.parse(text, endOfDay: true)
        _ = text.quotedForMessage
        if let catalogue {
            _ = catalogue.regions.search(String(text.prefix(64)), limit: 5)
            _ = try? catalogue.services.themenfeld(matching: String(text.prefix(64)))
        }
    }

    /// The GV100AD reader (the registry part of a catalogue folder).
    package static func registry(_ bytes: UnsafeRawBufferPointer) {
        _ = try? GV100ADParser.parse(bytes, file: "fuzz.txt")
    }
}
