import ArgumentParser
import Foundation
import OZGCore

/// Writes to standard output through a buffer: data goes to stdout, messages to stderr.
final class StandardOutput: OutputSink, @unchecked Sendable {
    static let shared = StandardOutput()
    private let writer = DescriptorWriter(descriptor: 1, name: "standard output")

    private init() {}

    func write(_ text: String) throws { try writer.write(text) }

    func write(bytes: UnsafeRawBufferPointer) throws { try writer.write(bytes: bytes) }

    /// Writes out what is buffered.
    /// - Throws: ``OutputError`` when standard output cannot take it (a full disk, for one).
    func flush() throws { try writer.flush() }
}

/// Prints a message to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}

/// Whether standard error is a terminal (progress is shown only then).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }

/// The output formats of listings: a table for people; JSON and CSV are stable contracts for scripts.
enum ListingFormat: String, CaseIterable, ExpressibleByArgument {
    case table, json, csv
}

/// Renders listings in the chosen format.
enum Listing {
    /// Prints `items` as the options ask: a table, a JSON array or CSV with a header.
    static func print<Item: Encodable>(
        _ items: [Item], output: FormatOptions, headers: [String], right: Set<Int> = [], cells: (Item) -> [String]
    ) throws {
        try print(items, format: output.format, csv: output.csv, headers: headers, right: right, cells: cells)
    }

    /// Prints `items` in `format` (CSV as `csv` says): a table, a JSON array or CSV with a header.
    static func print<Item: Encodable>(
        _ items: [Item], format: ListingFormat, csv: CSVOutputOptions, headers: [String], right: Set<Int> = [],
        cells: (Item) -> [String]
    ) throws {
        let out = StandardOutput.shared
        switch format {
        case .json:
            try out.write(try JSON.encode(items) + "\n")
        case .csv:
            try printCSV(headers: headers, rows: items.map(cells), csv: csv)
            return
        case .table:
            var table = TextTable(headers, right: right)
            for item in items { table.add(cells(item)) }
            try out.write(table.render())
        }
        try out.flush()
    }

    /// Prints CSV: a header and rows, through ozgtrack's one CSV writer (LF line ends, formula protection unless
    /// the options turn it off).
    static func printCSV(headers: [String], rows: [[String]], csv: CSVOutputOptions) throws {
        let format = csv.format(lineEnd: .lf)
        var out = ByteWriter(sink: StandardOutput.shared)
        out.appendCSVStart(format)
        out.appendCSVRecord(headers, format: format)
        for row in rows {
            out.appendCSVRecord(row, format: format)
            try out.flushIfFull()
        }
        try out.flush()
        try StandardOutput.shared.flush()
    }

    /// Prints one object as JSON.
    static func printJSON(_ value: some Encodable) throws {
        try StandardOutput.shared.write(try JSON.encode(value) + "\n")
        try StandardOutput.shared.flush()
    }
}
