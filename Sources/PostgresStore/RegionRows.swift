import OZGCore
import PostgresNIO

/// How streams read versions: one result row per **region**, carrying all of the region's selected versions as one
/// text value, rather than one result row per version.
///
/// Measured (national store, 5,988,307 versions, release build): with one row per version, the client spent more
/// CPU on postgres-nio's per-row work (a `DataRow` message, the connection's state machine, the async row sequence,
/// the cells) and on decoding the cells than on the whole report: 54 % of the report's client CPU on the event-loop
/// thread alone. A region's versions in one row (about 11,000 rows instead of 6 million) cost the server about the
/// same (≈ 3.0 s of backend CPU against ≈ 2.8 s for the plain rows, JIT on) and leave the client one cheap parse per
/// version. See docs/performance.md, "PostgreSQL backend".
///
/// The text of a region: its versions in stream order (OZG-ID, then batch), separated by `\n`; each version's fields
/// separated by `\t`:
///
///     head  [maturity]  [maturity_model]  [planned]  [online_since]  [length  url]  [length  solution]  [length  note]
///
/// `head` is one integer holding four: `((batch × 128 + nulls) × 16 + status) × 100,000 + ozg_id`, or `-1` when a
/// value does not fit (a damaged row: the decoder says so). `nulls` has bit 0…6 set for each of the seven nullable
/// columns that is NULL; a NULL column is left out entirely (`concat_ws` skips it). One integer instead of four
/// because `concat_ws` looks up the output function of every argument for every row: measured (national store,
/// server CPU from `/proc`, the query alone through psql, JIT on), the four as one cut the server's CPU for the
/// query from 2.72–2.76 s to 2.30–2.37 s, and the client parses three integers less per version. Each text value
/// is preceded by its length, so it may hold any character, tabs and line breaks included: the parser takes exactly
/// that many bytes. The length is in bytes (`octet_length`) when the bytes
/// arrive as the server stores them (server encoding UTF8 or SQL_ASCII), otherwise in characters (`char_length`),
/// which the client counts in the UTF-8 it receives.
///
/// The versions of a region come from a subquery ordered by `(region, ozg_id, batch)` — the primary key's order,
/// which the plan reads from the index; PostgreSQL does not promise that an aggregate sees its input in that order,
/// so the decoder checks the order of every region and sorts one that is out of order.
///
/// Memory: a page holds whole regions, so its size is bounded by the fetch size and the history of the largest
/// region (its services × their versions; ≈ 70 bytes of text per version).
enum RegionRows {
    /// Bits of the `nulls` field.
    enum Null {
        static let maturity = 1, maturityModel = 2, planned = 4, onlineSince = 8, url = 16, solution = 32, note = 64
    }

    /// The cursor's query over the versions of `table` matching `filter` (empty, or ` WHERE …`).
    static func query(table: String, filter: String, countsCharacters: Bool) -> String {
        let length = countsCharacters ? "char_length" : "octet_length"
        let nulls =
            "(maturity IS NULL)::int + (maturity_model IS NULL)::int * 2 + (planned IS NULL)::int * 4 "
            + "+ (online_since IS NULL)::int * 8 + (url IS NULL)::int * 16 + (solution IS NULL)::int * 32 "
            + "+ (note IS NULL)::int * 64"
        let head =
            "CASE WHEN ozg_id BETWEEN 0 AND 99999 AND status BETWEEN 0 AND 15 AND batch >= 0 "
            + "THEN ((batch::bigint * 128 + (\(nulls))) * 16 + status) * 100000 + ozg_id ELSE -1 END"
        return "SELECT region, string_agg(concat_ws(E'\\t', \(head), maturity, maturity_model, "
            + "planned, online_since, \(length)(url), url, \(length)(solution), solution, \(length)(note), note), E'\\n') "
            + "FROM (SELECT \(PostgresReader.versionColumns) FROM \(table)\(filter) ORDER BY region, ozg_id, batch) v "
            + "GROUP BY region ORDER BY region"
    }

    /// Whether text lengths are counted in characters: when the server converts its text to the client's UTF-8,
    /// byte lengths on the server differ from those received.
    static func countsCharacters(serverEncoding: String) -> Bool {
        let name = serverEncoding.uppercased()
        return name != "UTF8" && name != "SQL_ASCII"
    }
}

/// Decodes result rows of ``RegionRows/query(table:filter:countsCharacters:)`` into versions.
struct RegionRowDecoder {
    let countsCharacters: Bool
    private var regions = RegionKeyCache()

    init(countsCharacters: Bool) { self.countsCharacters = countsCharacters }

    /// Appends the versions of one result row (one region) to `page`; returns how many.
    mutating func decode(_ row: PostgresRow, into page: inout [StoredVersion]) throws -> Int {
        var cells = row.makeIterator()
        guard let regionCell = cells.next(), let textCell = cells.next() else { throw VersionDecoder.damaged(-1) }
        return try decode(region: Cell.int(regionCell) ?? -1, text: textCell.bytes, into: &page)
    }

    /// Appends the versions of the region stored as `packed` (``PackedRegionKey``), given as `text`, to `page`;
    /// returns how many.
    mutating func decode(region packed: Int, text: ByteBuffer?, into page: inout [StoredVersion]) throws -> Int {
        let region = try regions.key(packed)
        guard let text else { return 0 }
        let start = page.count
        let inOrder = try text.withUnsafeReadableBytes { bytes in
            var parser = Parser(bytes: bytes, countsCharacters: countsCharacters, packed: packed)
            return try parser.versions(of: region, into: &page)
        }
        if !inOrder {
            page[start...].sort { ($0.key.service.value, $0.batch) < ($1.key.service.value, $1.batch) }
        }
        return page.count - start
    }

    /// Reads one region's text.
    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        let countsCharacters: Bool
        let packed: Int
        var index = 0

        init(bytes: UnsafeRawBufferPointer, countsCharacters: Bool, packed: Int) {
            self.bytes = bytes
            self.countsCharacters = countsCharacters
            self.packed = packed
        }

        /// Appends every version; returns whether they came in stream order.
        mutating func versions(of region: RegionKey, into page: inout [StoredVersion]) throws -> Bool {
            var inOrder = true
            var previous = (service: Int.min, batch: Int.min)
            while index < bytes.count {
                let head = try integer()
                guard head >= 0 else { throw VersionDecoder.damaged(packed) }
                let serviceValue = head % 100_000
                let statusCode = head / 100_000 % 16
                let nulls = head / 1_600_000 % 128
                let batch = head / 204_800_000
                guard let service = OZGID(value: serviceValue), let status = Status(code: statusCode)
                else { throw VersionDecoder.damaged(packed) }
                let maturity = try optionalInteger(nulls & RegionRows.Null.maturity)
                let maturityModel = try optionalInteger(nulls & RegionRows.Null.maturityModel)
                let planned = try optionalInteger(nulls & RegionRows.Null.planned)
                let onlineSince = try optionalInteger(nulls & RegionRows.Null.onlineSince)
                let url = try optionalText(nulls & RegionRows.Null.url)
                let solution = try optionalText(nulls & RegionRows.Null.solution)
                let note = try optionalText(nulls & RegionRows.Null.note)
                if index < bytes.count { try expect(newline) }
                if (serviceValue, batch) <= previous { inOrder = false }
                previous = (serviceValue, batch)
                let values = RecordValues(
                    status: status, maturity: maturity, maturityModel: maturityModel.flatMap(MaturityModel.init(rawValue:)),
                    planned: planned.flatMap(ISODate.init(packed:)), onlineSince: onlineSince.flatMap(ISODate.init(packed:)),
                    url: url, solution: solution, note: note)
                page.append(StoredVersion(key: RecordKey(region: region, service: service), values: values, batch: batch))
            }
            return inOrder
        }

        private var tab: UInt8 { UInt8(ascii: "\t") }
        private var newline: UInt8 { UInt8(ascii: "\n") }

        private mutating func expect(_ byte: UInt8) throws {
            guard index < bytes.count, bytes[index] == byte else { throw VersionDecoder.damaged(packed) }
            index += 1
        }

        /// A decimal integer, optionally negative, ending before a tab, a line break or the end.
        private mutating func integer() throws -> Int {
            var negative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            let first = index
            var value = 0
            while index < bytes.count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                let (times, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow, index - first < 19 else { throw VersionDecoder.damaged(packed) }
                value = times + Int(digit)
                index += 1
            }
            guard index > first else { throw VersionDecoder.damaged(packed) }
            return negative ? -value : value
        }

        private mutating func optionalInteger(_ null: Int) throws -> Int? {
            if null != 0 { return nil }
            try expect(tab)
            return try integer()
        }

        private mutating func optionalText(_ null: Int) throws -> String? {
            if null != 0 { return nil }
            try expect(tab)
            let length = try integer()
            try expect(tab)
            guard length >= 0 else { throw VersionDecoder.damaged(packed) }
            let start = index
            if countsCharacters {
                // `length` characters of UTF-8: every byte that does not continue a sequence starts one.
                var characters = 0
                while index < bytes.count {
                    if bytes[index] & 0xC0 != 0x80 {
                        if characters == length { break }
                        characters += 1
                    }
                    index += 1
                }
                guard characters == length else { throw VersionDecoder.damaged(packed) }
            } else {
                guard length <= bytes.count - index else { throw VersionDecoder.damaged(packed) }
                index += length
            }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
    }
}
