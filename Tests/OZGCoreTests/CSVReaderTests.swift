import OZGCore
import Testing

@Suite("The CSV reader")
struct CSVReaderTests {
    func records(_ text: String, delimiter: CSVDelimiter? = nil) throws -> [[String]] {
        try withBytes(text) { bytes in
            let reader = try CSVReader(bytes: bytes, file: "t.csv", delimiter: delimiter)
            var result: [[String]] = []
            while try reader.next() { result.append(try reader.strings()) }
            return result
        }
    }

    @Test(
        "reads the forms RFC 4180 and spreadsheets write",
        arguments: [
            ("a,b\n1,2\n", [["a", "b"], ["1", "2"]]),
            ("a,b\r\n1,2\r\n", [["a", "b"], ["1", "2"]]),
            ("\u{FEFF}a,b\n1,2", [["a", "b"], ["1", "2"]]),
            ("a;b\n1;2\n", [["a", "b"], ["1", "2"]]),
            ("a,b\n\"x,y\",\"say \"\"hi\"\"\"\n", [["a", "b"], ["x,y", "say \"hi\""]]),
            ("a,b\n\"line\none\",2\n", [["a", "b"], ["line\none", "2"]]),
            ("a,b\n1,\n", [["a", "b"], ["1", ""]]),
            ("a,b\n\n1,2\n\n", [["a", "b"], ["1", "2"]]),
        ])
    func reads(text: String, expected: [[String]]) throws {
        #expect(try records(text) == expected)
    }

    @Test("line numbers count physical lines, also inside quoted fields")
    func lineNumbers() throws {
        try withBytes("a,b\n\"x\ny\",1\nz,2\n") { bytes in
            let reader = try CSVReader(bytes: bytes, file: "t.csv")
            var lines: [Int] = []
            while try reader.next() { lines.append(reader.line) }
            #expect(lines == [1, 2, 4])
        }
    }

    @Test(
        "refuses malformed input with file and line",
        arguments: [
            ("a,b\n\"open,2\n", "t.csv:2:", "never closed"),
            ("a,b\nx\"y,2\n", "t.csv:2:", "unexpected quote"),
            ("a,b\n\"x\"y,2\n", "t.csv:2:", "after the closing quote"),
            ("a,b\n1\u{0},2\n", "t.csv:2:", "NUL byte"),
        ])
    func refuses(text: String, location: String, message: String) {
        do {
            _ = try records(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(String(describing: error).hasPrefix(location))
            #expect(String(describing: error).contains(message))
        }
    }

    @Test("refuses UTF-16 and invalid UTF-8")
    func encodings() throws {
        #expect(throws: InputError.self) {
            try withBytes([0xFF, 0xFE, 0x61, 0x00]) { _ = try CSVReader(bytes: $0, file: "t.csv") }
        }
        try withBytes([0x61, 0x0A, 0x4D, 0xFC, 0x6E, 0x0A]) { bytes in  // "Mün" in Latin-1
            let reader = try CSVReader(bytes: bytes, file: "t.csv")
            _ = try reader.next()
            _ = try reader.next()
            #expect(throws: InputError.self) { try reader.string(0) }
        }
    }

    @Test("refuses a field over the size limit")
    func fieldLimit() throws {
        let text = "a\n" + String(repeating: "x", count: 70_000) + "\n"
        #expect(throws: InputError.self) { try records(text) }
    }
}
