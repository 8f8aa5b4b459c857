import OZGCore

/// The entries ``XMLReportFastPath`` read from one document: every `eintrag`'s values as bytes in one arena,
/// without a `String` or an array per entry.
///
/// Why: with one `XMLEntry` (two arrays, a `String` per value) per entry, the reading stage that turned the
/// strings back into keys, statuses and dates was a quarter of all samples of the ministry's collection import,
/// and making the entries a good part of the look-ahead thread (`perf record`, 1,101 Gemeinde reports). With
/// the bytes, the import's samples fell from 15,016 to 11,046, together with the read buffer below and the
/// duplicate check's changes (see docs/performance.md, "The ministry's collection"). The reading stage converts
/// the bytes as the CSV reader does, and builds an `XMLEntry` only for an entry that is not the plain case (see
/// ``XMLRecordSource``), so every message stays exactly as before.
struct FastEntries: Sendable {
    /// Where one value is in ``arena``, and the line of its attribute or element.
    struct Span: Sendable {
        var offset: UInt32
        /// ``absent`` when the entry has no such value.
        var count: UInt32
        var line: UInt32

        static let absent = Span(offset: 0, count: UInt32.max, line: 0)

        var isAbsent: Bool { count == UInt32.max }
    }

    /// The line of an entry's `eintrag` and the number of its `einheit` (0, 1, 2 … in document order).
    struct Head: Sendable {
        var line: UInt32
        var unit: Int32
    }

    static let fieldCount = XMLEntry.Field.allCases.count

    /// The values' bytes, as decoded (references replaced, attribute white space normalised).
    private(set) var arena: [UInt8] = []
    /// ``fieldCount`` spans per entry, in the order of `XMLEntry.Field`.
    private(set) var spans: [Span] = []
    private(set) var heads: [Head] = []

    /// The number of entries.
    var count: Int { heads.count }

    init() {
        arena.reserveCapacity(64 << 10)
        spans.reserveCapacity(1_024 * Self.fieldCount)
        heads.reserveCapacity(1_024)
    }

    /// Keeps `value` in the arena; its span (at `line`).
    mutating func keep(_ value: UnsafeBufferPointer<UInt8>, line: Int) -> Span {
        let span = Span(offset: UInt32(arena.count), count: UInt32(value.count), line: UInt32(line))
        arena.append(contentsOf: value)
        return span
    }

    /// Starts an entry (all its values absent).
    mutating func begin(line: Int, unit: Int) {
        heads.append(Head(line: UInt32(line), unit: Int32(unit)))
        spans.append(contentsOf: repeatElement(Span.absent, count: Self.fieldCount))
    }

    /// Sets a value of the entry begun last.
    mutating func set(_ field: XMLEntry.Field, _ span: Span) {
        spans[spans.count - Self.fieldCount + field.rawValue] = span
    }

    func span(_ entry: Int, _ field: XMLEntry.Field) -> Span { spans[entry * Self.fieldCount + field.rawValue] }

    /// The entry as ``XMLEntryExtractor`` makes it (for everything but the plain case).
    func entry(_ index: Int) -> XMLEntry {
        var entry = XMLEntry()
        entry.reset(line: Int(heads[index].line), unit: Int(heads[index].unit))
        for field in XMLEntry.Field.allCases {
            let span = span(index, field)
            guard !span.isAbsent else { continue }
            let text = arena.withUnsafeBufferPointer {
                String(decoding: UnsafeBufferPointer(rebasing: $0[Int(span.offset)..<Int(span.offset + span.count)]), as: UTF8.self)
            }
            entry.set(field, text, line: Int(span.line))
        }
        return entry
    }
}

/// A reusable read buffer for the files of one thread (a Gemeinde report is about 350 KB: allocating, zeroing
/// and faulting in a new one per file cost a tenth of the look-ahead thread), with what the fast path
/// remembers between them.
final class ReadBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    let memory = XMLReportFastPath.Memory()

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// Makes room for at least `count` bytes (the contents are not kept).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        base.deallocate()
        capacity = max(count, capacity * 2)
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }
}

/// The plain case of an entry read by the fast path, converted from its bytes.
extension XMLRecordSource {
    fileprivate static let statusWords: [(bytes: [UInt8], status: Status)] = Status.allCases.map { (Array($0.rawValue.utf8), $0) }

    /// Turns the bytes of the fast path's entries into rows.
    struct FastRows {
        let source: XMLRecordSource
        let entries: FastEntries
        let file: String
        private var lastRegion: (offset: UInt32, count: UInt32, key: RegionKey)?

        init(source: XMLRecordSource, entries: FastEntries, file: String) {
            self.source = source
            self.entries = entries
            self.file = file
        }

        /// The row of entry `index`, its error, or `nil` when it is passed over — what
        /// ``XMLRecordSource/makeRow(_:file:)`` gives for ``FastEntries/entry(_:)``.
        ///
        /// The plain case (a known region and OZG-ID, values the validator takes as they are) is converted from
        /// the bytes as the CSV reader does; anything else goes through `makeRow`, which words every message.
        ///
        /// `arena` and `spans` are those of ``entries``, taken once for all its rows (see ``withBytes(_:)``)
        /// rather than in a closure per row.
        mutating func row(
            _ index: Int, arena: UnsafeBufferPointer<UInt8>, spans: UnsafeBufferPointer<FastEntries.Span>
        ) -> Result<ImportRow, InputError>? {
            if let row = plainRow(index, arena: arena, spans: spans) { return .success(row) }
            return source.makeRow(entries.entry(index), file: file)
        }

        /// Calls `body` with the bytes of ``entries``' arena and its spans.
        func withBytes<R>(
            _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<FastEntries.Span>) throws -> R
        ) rethrows -> R {
            try entries.arena.withUnsafeBufferPointer { arena in try entries.spans.withUnsafeBufferPointer { spans in try body(arena, spans) } }
        }

        private mutating func plainRow(
            _ index: Int, arena: UnsafeBufferPointer<UInt8>, spans: UnsafeBufferPointer<FastEntries.Span>
        ) -> ImportRow? {
            let base = index * FastEntries.fieldCount
            func bytes(_ field: XMLEntry.Field) -> UnsafeBufferPointer<UInt8>? {
                let span = spans[base + field.rawValue]
                if span.isAbsent { return nil }
                return UnsafeBufferPointer(rebasing: arena[Int(span.offset)..<Int(span.offset + span.count)])
            }
            func string(_ field: XMLEntry.Field) -> String? { bytes(field).map { String(decoding: $0, as: UTF8.self) } }
            // Untracked entries, and a Reifegrad without its model or the other way round: makeRow.
            guard let statusBytes = bytes(.status), let regionBytes = bytes(.region), let serviceBytes = bytes(.service),
                (bytes(.maturity) == nil) == (bytes(.maturityModel) == nil)
            else { return nil }
            let validator = source.validator
            // The region: one look-up per unit (entries of a unit share the span of its key).
            let regionSpan = spans[base + XMLEntry.Field.region.rawValue]
            let region: RegionKey
            if let lastRegion, lastRegion.offset == regionSpan.offset, lastRegion.count == regionSpan.count {
                region = lastRegion.key
            } else {
                let text = String(decoding: regionBytes, as: UTF8.self)
                guard let key = try? validator.region(text, field: XMLEntry.Field.region.elementName) else { return nil }
                region = key
                lastRegion = (regionSpan.offset, regionSpan.count, key)
            }
            // The OZG-ID: five digits (the schema's type); a short string needs no allocation.
            guard let service = try? validator.service(String(decoding: serviceBytes, as: UTF8.self), field: XMLEntry.Field.service.elementName)
            else { return nil }
            guard let status = XMLRecordSource.statusWords.first(where: { $0.bytes.elementsEqual(statusBytes) })?.status else { return nil }
            var update = RecordUpdate(status: status)
            if let maturity = bytes(.maturity), let model = bytes(.maturityModel) {
                guard maturity.count == 1, maturity[0] >= 0x30, maturity[0] <= 0x37, model.count == 1,
                    let parsed = MaturityModel(rawValue: Int(model[0]) - 0x30)
                else { return nil }
                let level = Int(maturity[0]) - 0x30
                guard (try? RecordValues.validateMaturity(level, model: parsed)) != nil else { return nil }
                update.maturity = level
                update.maturityModel = parsed
            }
            if let planned = bytes(.planned) {
                guard let date = ISODate(utf8: planned) else { return nil }
                update.planned = date
            }
            if let onlineSince = bytes(.onlineSince) {
                guard let date = ISODate(utf8: onlineSince) else { return nil }
                update.onlineSince = date
            }
            if let url = string(.url) {
                guard let checked = try? validator.url(url) else { return nil }
                update.url = checked
            }
            if let solution = string(.solution) {
                guard let checked = try? validator.text(solution, field: .solution) else { return nil }
                update.solution = checked
            }
            if let note = string(.note) {
                guard let checked = try? validator.text(note, field: .note) else { return nil }
                update.note = checked
            }
            if source.absentValues == .cleared {
                var absent = 0
                for (bit, field) in XMLRecordSource.clearable.enumerated() where spans[base + field.rawValue].isAbsent {
                    absent |= 1 << bit
                }
                update.clear = XMLRecordSource.cleared[absent]
            }
            let head = entries.heads[index]
            return ImportRow(file: file, line: Int(head.line), key: RecordKey(region: region, service: service), update: update)
        }
    }
}
