import ArgumentParser
import Foundation
import OZGCore

/// `--catalogue DIR`: which reference data to use.
struct CatalogueOptions: ParsableArguments {
    @Option(
        name: .customLong("catalogue"),
        help: ArgumentHelp(
            "A catalogue folder laid out like the built-in one, for a newer edition.",
            discussion: "Default: the environment variable OZGTRACK_CATALOGUE, else the built-in catalogue.",
            valueName: "dir"))
    var folder: String?

    /// Loads the catalogue the options name.
    func load() throws -> Catalogue {
        let catalogue = try Catalogue.load(from: Environment.catalogueSource(option: folder))
        // The catalogue lives as long as the process: one reference is kept for good, so that the ~22,000
        // objects of services and regions are not freed one by one just before exit (measured: about 3 ms of
        // every command's run).
        _ = Unmanaged.passRetained(ProcessLifetime(catalogue))
        return catalogue
    }
}

/// The output of a listing: `--format table|json|csv` and, for CSV, the options of ``CSVOutputOptions``.
///
/// One group for every listing, so that every CSV the tool prints has the same options and the same formula
/// protection; ``Listing`` renders with it.
struct FormatOptions: ParsableArguments {
    @Option(help: "Output format: table for people; json and csv are stable contracts for scripts.")
    var format: ListingFormat = .table

    @OptionGroup var csv: CSVOutputOptions
}

/// `--delimiter`, `--bom` and `--no-formula-protection`: how CSV is written, for listings and reports alike.
struct CSVOutputOptions: ParsableArguments {
    @Option(help: "CSV: the delimiter, ',' or ';'.") var delimiter: String = ","
    @Flag(help: "CSV: start with a UTF-8 byte-order mark (for Excel).") var bom = false
    @Flag(
        name: .customLong("no-formula-protection"),
        help: ArgumentHelp(
            "CSV: leave cells starting with = + - @, tab or CR as they are (by default they get a leading ').",
            discussion: "The leading ' keeps a spreadsheet from running a stored value as a formula; the importer takes it off again."))
    var noFormulaProtection = false

    func validate() throws {
        guard let character = delimiter.first, delimiter.count == 1, [",", ";"].contains(character) else {
            throw ValidationError("--delimiter takes ',' or ';', not \(delimiter.quotedForMessage)")
        }
    }

    /// The CSV settings these options ask for, with `lineEnd`.
    func format(lineEnd: CSVFormat.LineEnd) -> CSVFormat {
        CSVFormat(
            delimiter: CSVDelimiter(text: delimiter) ?? .comma, formulaProtection: !noFormulaProtection, lineEnd: lineEnd,
            byteOrderMark: bom)
    }
}

extension InputError {
    /// An error about a command-line option or argument.
    static func argument(_ name: String, _ error: InputError) -> InputError {
        var copy = error
        copy.field = name
        return copy
    }
}

/// Parses a command-line value with a library parser, naming the option in the error.
func parseArgument<T>(_ name: String, _ value: String, _ parse: (String) throws -> T) throws -> T {
    do {
        return try parse(value)
    } catch let error as InputError {
        throw InputError.argument(name, error)
    }
}

/// A number with German thousands separators (10.751).
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(".") }
        out.append(character)
    }
    return (value < 0 ? "-" : "") + out
}

/// Holds a value until the process exits (see ``CatalogueOptions/load()``).
private final class ProcessLifetime<Value> {
    let value: Value
    init(_ value: Value) { self.value = value }
}
