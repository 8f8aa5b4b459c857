import Foundation

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

    /// One row on its way from the reading stage to the writing stage.
    enum Planned: Sendable {
        /// A bad row, with its place.
        case failure(InputError)
        /// A row; `values` are already complete when the store was empty (nothing to merge with).
        case row(ImportRow, RecordValues?)
    }

    /// Reads, validates and plans rows on a thread of its own, while the calling thread merges them with the
    /// store and writes: on two cores the national import then takes about as long as its slower half, not
    /// the sum of both (see docs/performance.md).
    private static func plan(
        _ sources: [any RecordSource], reader: any TrackingReader, writer: (any TrackingWriter)?,
        validator: RecordValidator, dryRun: Bool, progress: ((Int) -> Void)?
    ) throws -> ImportSummary {
        var summary = ImportSummary()
        summary.dryRun = dryRun
        var errors: [InputError] = []
        var errorCount = 0
        // A store without records needs no look-ups: every row is new (the national first load).
        let empty = try reader.isEmpty()
        func fail(_ error: InputError) {
            errorCount += 1
            if errors.count < errorLimit { errors.append(error) }
        }
        let channel = PlannedChannel(capacity: ReadingStage.capacity)
        let stage = ReadingStage(sources: sources, empty: empty, channel: channel)
        Thread.detachNewThread { stage.run() }
        defer {
            channel.cancel()
            stage.wait()
        }
        while let chunk = try channel.receive() {
            for item in chunk {
                let row: ImportRow
                let planned: RecordValues?
                switch item {
                case .failure(let error):
                    fail(error)
                    continue
                case .row(let value, let values):
                    row = value
                    planned = values
                }
                summary.rows += 1
                if let progress, summary.rows % 100_000 == 0 { progress(summary.rows) }
                if let planned {
                    summary.inserted += 1
                    if errorCount == 0, let writer { try writer.put(row.key, planned, current: nil) }
                    continue
                }
                let current = try reader.current(row.key, asOf: nil)
                let values: RecordValues
                do throws(InputError) {
                    values = try row.update.applied(to: current?.values)
                } catch {
                    fail(error.located(file: row.file, line: row.line))
                    continue
                }
                if let current, current.values == values {
                    summary.unchanged += 1
                    continue
                }
                if current == nil { summary.inserted += 1 } else { summary.updated += 1 }
                if errorCount == 0, let writer { try writer.put(row.key, values, current: current?.values) }
            }
        }
        stage.wait()
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
            try writer?.put(key, values, current: current?.values)
            let record = try writer.map { try $0.current(key, asOf: nil) } ?? nil
            return SetOutcome(changed: true, created: current == nil, record: record)
        }
        if dryRun { return try store.read { try apply($0, nil) } }
        return try store.write(batch) { try apply($0, $0) }
    }
}

/// The reading stage of an import: runs the sources, finds repeated records, completes rows for an empty store,
/// and hands rows on in chunks.
///
/// `@unchecked Sendable`: the sources (and the validator they use) are touched only by this stage's thread
/// until ``wait()`` returns; the channel is thread-safe.
final class ReadingStage: @unchecked Sendable {
    private let sources: [any RecordSource]
    private let empty: Bool
    private let channel: PlannedChannel
    private let done = DispatchSemaphore(value: 0)
    private var waited = false
    static let chunkSize = 4_096
    /// At most this many chunks wait for the writing stage.
    static let capacity = 8

    init(sources: [any RecordSource], empty: Bool, channel: PlannedChannel) {
        self.sources = sources
        self.empty = empty
        self.channel = channel
    }

    func run() {
        defer { done.signal() }
        var duplicates = DuplicateDetector()
        var chunk: [Importer.Planned] = []
        chunk.reserveCapacity(Self.chunkSize)
        do {
            for source in sources {
                try source.forEachRow { result in
                    switch result {
                    case .failure(let error):
                        chunk.append(.failure(error))
                    case .success(let row):
                        if let first = duplicates.insert(row.key, file: row.file, line: row.line) {
                            let place = first.file == row.file ? "line \(first.line)" : "\(first.file):\(first.line)"
                            chunk.append(
                                .failure(
                                    InputError(
                                        .duplicate,
                                        file: row.file, line: row.line,
                                        message: "region \(row.key.region) and OZG-ID \(row.key.service) appear again (first on \(place)): "
                                            + "expected each record once per import")))
                        } else if empty {
                            do throws(InputError) {
                                chunk.append(.row(row, try row.update.applied(to: nil)))
                            } catch {
                                chunk.append(.failure(error.located(file: row.file, line: row.line)))
                            }
                        } else {
                            chunk.append(.row(row, nil))
                        }
                    }
                    if chunk.count >= Self.chunkSize {
                        try channel.send(chunk)
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !chunk.isEmpty { try channel.send(chunk) }
            channel.close()
        } catch {
            channel.close(error: error)
        }
    }

    /// Waits until the stage has stopped (idempotent).
    func wait() {
        if waited { return }
        done.wait()
        waited = true
    }
}

/// The bounded hand-over of row chunks from the reading stage to the writing one: at most
/// ``ReadingStage/capacity`` chunks wait, so memory stays bounded when writing is slower than reading.
typealias PlannedChannel = BoundedChannel<[Importer.Planned]>
