import Foundation

/// A CSV file with a header row, read record by record with columns looked up by name.
///
/// Errors name the file, the line and the column.
final class CSVTable {
    let reader: CSVReader
    let header: [String]
    private let columns: [String: Int]

    /// Reads the header and checks that every `required` column is present.
    init(bytes: UnsafeRawBufferPointer, file: String, required: [String], delimiter: CSVDelimiter? = nil)
        throws(InputError)
    {
        reader = try CSVReader(bytes: bytes, file: file, delimiter: delimiter)
        guard try reader.next() else {
            throw InputError(
                .header, file: file, line: 1,
                message: "the file is empty: expected a header row with \(required.joined(separator: ","))")
        }
        header = try reader.strings().map { $0.trimmingCharacters(in: .whitespaces) }
        var columns: [String: Int] = [:]
        var repeated: String?
        for (index, name) in header.enumerated() {
            if columns[name] != nil, repeated == nil { repeated = name }
            if columns[name] == nil { columns[name] = index }
        }
        self.columns = columns
        // A missing required column says most (a file without a header misses them all), so it comes first.
        let missing = required.filter { columns[$0] == nil }
        if !missing.isEmpty {
            throw InputError(
                .header, file: file, line: reader.line,
                message: "the header lacks \(missing.joined(separator: ", ")): expected the columns "
                    + required.joined(separator: ","))
        }
        if let repeated {
            throw InputError(
                .header, file: file, line: reader.line, field: repeated,
                message: "the column \(repeated.quotedForMessage) appears twice in the header: expected each column once")
        }
    }

    var file: String { reader.file }
    var line: Int { reader.line }

    /// Advances to the next record and checks its field count against the header.
    func next() throws(InputError) -> Bool {
        guard try reader.next() else { return false }
        if reader.count != header.count {
            throw InputError(
                .fieldCount, file: file, line: reader.line,
                message: "the record has \(reader.count) fields: expected \(header.count) as in the header")
        }
        return true
    }

    /// The column's index, if the header has it.
    func index(_ column: String) -> Int? { columns[column] }

    /// The text of `column` in the current record ("" when the header lacks the column).
    func text(_ column: String) throws(InputError) -> String {
        guard let index = columns[column] else { return "" }
        return try text(at: index)
    }

    /// The text of the column at `index` (see ``index(_:)``), for hot loops that resolve columns once.
    func text(at index: Int) throws(InputError) -> String {
        do {
            return try reader.string(index)
        } catch {
            throw error.inField(header[index])
        }
    }

    /// An error about `column` in the current record.
    func error(_ column: String, _ message: String) -> InputError {
        InputError(file: file, line: line, field: column, message: message)
    }

    /// Runs `parse` on the text of `column`, placing any error in this file, line and column.
    func parse<T>(_ column: String, _ parse: (String) throws(InputError) -> T) throws(InputError) -> T {
        try self.parse(column, text: try text(column), parse)
    }

    /// Runs `parse` on `text`, placing any error in this file, line and `column`.
    func parse<T>(_ column: String, text value: String, _ parse: (String) throws(InputError) -> T) throws(InputError) -> T {
        do {
            return try parse(value)
        } catch {
            throw error.located(file: file, line: line).inField(column)
        }
    }
}
