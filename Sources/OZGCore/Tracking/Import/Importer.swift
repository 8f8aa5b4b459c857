/// What an import did, or would do.
public struct ImportSummary: Sendable, Hashable, Encodable {
    /// Rows read (after a dashboard file is grouped: one per record).
    public var rows = 0
    /// Records that did not exist before.
    public var inserted = 0
    /// Records whose values change.
    public var updated = 0
    /// Records that already hold these values: nothing is written for them.
    public var unchanged = 0
    /// Rows skipped (unknown keys with `--skip-unknown`, inactive dashboard entries).
    public var skipped = 0
    /// Why rows were skipped (the first few).
    public var warnings: [String] = []
    /// Whether this was a dry run (nothing written).
    public var dryRun = false

    /// The number of records written.
    public var written: Int { dryRun ? 0 : inserted + updated }
}

/// What `set` did to one record.
public struct SetOutcome: Sendable, Hashable {
    /// `true` when values changed (or the record was created), `false` when they were already stored.
    public var changed: Bool
    /// Whether the record did not exist before.
    public var created: Bool
    /// The record as stored afterwards.
    public var record: StoredRecord?
}

/// Applies rows to the store: validates every row, merges it with the stored record, and writes the
/// inserts and updates in one transaction — all of them, or none when any row is bad.
public enum Importer {
    /// How many row errors are kept for the report (all are counted).
    public static let errorLimit = 50

    /// Imports `sources` in one transaction.
    /// - Parameters:
    ///   - sources: the inputs, read in order; together they are one import.
    ///   - store: where to write.
    ///   - batch: who imports, from where, when.
    ///   - validator: checks values against the loaded catalogue and registry.
    ///   - dryRun: validate and count, write nothing.
    ///   - progress: called with the number of rows read so far, every 100,000 rows.
    /// - Throws: ``InputErrors`` listing the bad rows (nothing is written then), an ``InputError`` for a
    ///   file that cannot be read at all, or a ``StoreError``.
    public static func run(
        _ sources: [any RecordSource], into store: any TrackingStore, batch: BatchInfo, validator: RecordValidator,
        dryRun: Bool = false, progress: ((Int) -> Void)? = nil
    ) throws -> ImportSummary {
        if dryRun {
            return try store.read { reader in
                try plan(sources, reader: reader, writer: nil, validator: validator, dryRun: true, progress: progress)
            }
        }
        return try store.write(batch) { writer in
            try plan(sources, reader: writer, writer: writer, validator: validator, dryRun: false, progress: progress)
        }
    }

    private static func plan(
        _ sources: [any RecordSource], reader: any TrackingReader, writer: (any TrackingWriter)?,
        validator: RecordValidator, dryRun: Bool, progress: ((Int) -> Void)?
    ) throws -> ImportSummary {
        var summary = ImportSummary()
        summary.dryRun = dryRun
        var errors: [InputError] = []
        var errorCount = 0
        var duplicates = DuplicateDetector()
        // A store without records needs no look-ups: every row is new (the national first load).
        let empty = try reader.isEmpty()
        func fail(_ error: InputError) {
            errorCount += 1
            if errors.count < errorLimit { errors.append(error) }
        }
        for source in sources {
            try source.forEachRow { result in
                let row: ImportRow
                switch result {
                case .failure(let error):
                    fail(error)
                    return
                case .success(let value):
                    row = value
                }
                summary.rows += 1
                if let progress, summary.rows % 100_000 == 0 { progress(summary.rows) }
                if let first = duplicates.insert(row.key, file: row.file, line: row.line) {
                    let place = first.file == row.file ? "line \(first.line)" : "\(first.file):\(first.line)"
                    fail(
                        InputError(
                            file: row.file, line: row.line,
                            message: "region \(row.key.region) and OZG-ID \(row.key.service) appear again (first on \(place)): "
                                + "expected each record once per import"))
                    return
                }
                let current = empty ? nil : try reader.current(row.key, asOf: nil)
                let values: RecordValues
                do throws(InputError) {
                    values = try row.update.applied(to: current?.values)
                } catch {
                    fail(error.located(file: row.file, line: row.line))
                    return
                }
                if let current, current.values == values {
                    summary.unchanged += 1
                    return
                }
                if current == nil { summary.inserted += 1 } else { summary.updated += 1 }
                if errorCount == 0, let writer { try writer.put(row.key, values) }
            }
        }
        summary.skipped += validator.skippedCount
        summary.warnings = validator.warnings
        if errorCount > 0 { throw InputErrors(errors: errors, total: errorCount) }
        return summary
    }

    /// Applies one update (the `set` command): writes only if something changes.
    public static func set(
        _ key: RecordKey, _ update: RecordUpdate, into store: any TrackingStore, batch: BatchInfo, dryRun: Bool = false
    ) throws -> SetOutcome {
        func apply(_ reader: any TrackingReader, _ writer: (any TrackingWriter)?) throws -> SetOutcome {
            let current = try reader.current(key, asOf: nil)
            let values = try update.applied(to: current?.values)
            if let current, current.values == values { return SetOutcome(changed: false, created: false, record: current) }
            try writer?.put(key, values)
            let record = try writer.map { try $0.current(key, asOf: nil) } ?? nil
            return SetOutcome(changed: true, created: current == nil, record: record)
        }
        if dryRun { return try store.read { try apply($0, nil) } }
        return try store.write(batch) { try apply($0, $0) }
    }
}
