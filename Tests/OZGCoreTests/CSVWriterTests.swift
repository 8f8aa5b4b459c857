import OZGCore
import Testing

/// A sink that keeps the bytes it is given.
private final class BytesSink: OutputSink {
    var bytes: [UInt8] = []
    func write(_ text: String) { bytes += Array(text.utf8) }
    func write(bytes: UnsafeRawBufferPointer) { self.bytes += Array(bytes) }
}

@Suite("The CSV writer: one cell rule for every CSV, formula protection, exact reading back")
struct CSVWriterTests {
    static let protected = CSVFormat()
    static let canonical = CSVFormat.canonical

    @Test(
        "cells: quoted when needed; a leading ' before formula characters with protection; ' escaped always",
        arguments: [
            ("plain", "plain", "plain"),
            ("", "", ""),
            ("a,b", "\"a,b\"", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\"", "\"say \"\"hi\"\"\""),
            ("=SUM(1)", "'=SUM(1)", "=SUM(1)"),
            ("+1", "'+1", "+1"),
            ("-2+3", "'-2+3", "-2+3"),
            ("@cmd", "'@cmd", "@cmd"),
            ("\tx", "'\tx", "\tx"),
            ("\rx", "\"'\rx\"", "\"\rx\""),
            ("=a,b", "\"'=a,b\"", "\"=a,b\""),
            ("'=x", "''=x", "''=x"),
            ("''-x", "'''-x", "'''-x"),
            ("'plain", "'plain", "'plain"),
            ("x=1", "x=1", "x=1"),
        ])
    func cells(value: String, protected: String, canonical: String) {
        #expect(Self.protected.field(value) == protected)
        #expect(Self.canonical.field(value) == canonical)
    }

    @Test("numbers are never touched: numeric columns are written from numbers, and are never negative")
    func numbers() {
        #expect(Self.protected.line(["10000", "3", "2026-06-30"]) == "10000,3,2026-06-30\n")
    }

    static let values = [
        "plain", "", "=HYPERLINK(\"http://evil\",\"x\")", "@SUM(1)", "-1", "+49 711", "\t@", "\r\n=x", "'=x", "''+x", "'''@x",
        "'", "''", "'plain", "a;b", "a,b", "\"", "Bürgerbüro\r\nmit CRLF", "'\t", "=", "-",
    ]

    @Test(
        "every value reads back exactly: the importer takes off the ' the writer put in",
        arguments: [CSVFormat(), CSVFormat.canonical, CSVFormat(delimiter: .semicolon, lineEnd: .crlf)])
    func roundTrip(format: CSVFormat) throws {
        let text = format.line(["x"] + Self.values)
        let cells = try withBytes(text) { bytes in
            let reader = try CSVReader(bytes: bytes, file: "t.csv", delimiter: format.delimiter)
            #expect(try reader.next())
            return try reader.strings()
        }
        #expect(cells.dropFirst().map(CSVFormat.original(ofCell:)) == Self.values)
    }

    @Test("a cell the writer did not escape is read as it is", arguments: ["'plain", "'", "''", "x'=y", "=x", "'1"])
    func readsOtherCellsUnchanged(cell: String) {
        #expect(CSVFormat.original(ofCell: cell) == cell)
    }

    @Test("the byte-order mark and CRLF are the format's options")
    func startAndLineEnd() {
        let format = CSVFormat(delimiter: .semicolon, lineEnd: .crlf, byteOrderMark: true)
        let bytes = ByteWriter.encoded { out in
            out.appendCSVStart(format)
            out.appendCSVRecord(["a", "b;c"], format: format)
        }
        #expect(bytes == [0xEF, 0xBB, 0xBF] + Array("a;\"b;c\"\r\n".utf8))
    }
}

@Suite("ByteWriter: an owned buffer that cannot be shared")
struct ByteWriterTests {
    @Test("grows past its capacity without losing bytes, and hands everything to the sink")
    func grows() throws {
        let sink = BytesSink()
        var out = ByteWriter(sink: sink)
        let piece = Array("0123456789abcdef0123456789abcdef0123456789".utf8)
        var expected: [UInt8] = []
        // Several megabytes without a flush: the buffer is reallocated many times.
        for index in 0..<100_000 {
            out.append(piece)
            out.append(index)
            expected += piece + Array(String(index).utf8)
        }
        try out.flush()
        #expect(sink.bytes == expected)
    }

    @Test("a writer moved to another variable or function keeps its buffer (copies do not compile)")
    func moves() throws {
        let sink = BytesSink()
        let first = ByteWriter(sink: sink)
        var second = first  // a move: `first` can no longer be used
        second.append("moved")
        func finish(_ writer: consuming ByteWriter) throws {
            var writer = writer
            writer.append(ascii: 0x21)
            try writer.flush()
        }
        try finish(second)
        #expect(sink.bytes == Array("moved!".utf8))
    }

    @Test("flushIfFull hands over whole chunks, flush the rest")
    func chunks() throws {
        let sink = BytesSink()
        var out = ByteWriter(sink: sink)
        let chunk = [UInt8](repeating: 0x61, count: ByteWriter.chunk)
        out.append(chunk)
        try out.flushIfFull()
        #expect(sink.bytes.count == ByteWriter.chunk)
        out.append("tail")
        try out.flush()
        #expect(sink.bytes.count == ByteWriter.chunk + 4)
    }
}

@Suite("Input errors have kinds; recovery decides on the kind")
struct InputErrorKindTests {
    func rows(_ text: String) throws -> (results: [Result<ImportRow, InputError>], thrown: InputError?) {
        let source = CSVRecordSource(path: "t.csv", validator: RecordValidator(catalogue: builtIn))
        var results: [Result<ImportRow, InputError>] = []
        var thrown: InputError?
        try withBytes(text) { bytes in
            do {
                try source.forEachRow(in: InputBytes(bytes: bytes)) { results.append($0) }
            } catch let error as InputError {
                thrown = error
            }
        }
        return (results, thrown)
    }

    @Test("a record with the wrong number of fields is one bad row: reading goes on with the next record")
    func fieldCountIsRecoverable() throws {
        let (results, thrown) = try rows("region,ozg_id,status\n08111000,10000\n08111000,10001,online\n")
        #expect(thrown == nil)
        #expect(results.count == 2)
        guard case .failure(let error) = results.first else { Issue.record("no failure for line 2"); return }
        #expect(error.kind == .fieldCount)
        #expect(error.description == "t.csv:2: the record has 2 fields: expected 3 as in the header")
        guard case .success(let row) = results.last else { Issue.record("line 3 not read"); return }
        #expect(row.line == 3)
    }

    @Test("more than 1024 fields end the file: the reader stopped inside the record, so it does not resume there")
    func tooManyFieldsIsFatal() throws {
        // Past the 1024th field the record holds what would be a valid row, if reading resumed mid-record.
        let fields = ["08111000", "10000"] + Array(repeating: "", count: 1022) + ["08111000", "10001", "online"]
        let text = "region,ozg_id,status\n" + fields.joined(separator: ",") + "\n08111000,10002,online\n"
        let (results, thrown) = try rows(text)
        let error = try #require(thrown)
        #expect(error.kind == .tooManyFields)
        #expect(error.line == 2)
        #expect(error.description == "t.csv:2: the record has more than 1024 fields: expected far fewer")
        #expect(results.isEmpty, "rows were read after a fatal error: \(results)")
    }

    @Test(
        "kinds of the CSV reader's and the import's errors",
        arguments: [
            ("region,ozg_id\n\"08111000,10000\n", InputError.Kind.malformed),
            ("region,ozg_id\n08111000,10\"000\n", .malformed),
            ("region,ozg_id\n08111000,1\u{0}0000\n", .encoding),
            ("ozg_id\n10000\n", .header),
            ("", .header),
            ("region,ozg_id,colour\n08111000,10000,red\n", .unknownField),
        ])
    func kinds(text: String, kind: InputError.Kind) throws {
        let (_, thrown) = try rows(text)
        #expect(thrown?.kind == kind)
    }

    @Test("row errors carry kinds too: an unknown key, a bad value")
    func rowKinds() throws {
        let (results, _) = try rows("region,ozg_id,status\n08111000,99999,online\n08111000,10000,maybe\n")
        let kinds = results.compactMap { result -> InputError.Kind? in
            if case .failure(let error) = result { return error.kind }
            return nil
        }
        #expect(kinds == [.unknownKey, .invalidValue])
    }
}
