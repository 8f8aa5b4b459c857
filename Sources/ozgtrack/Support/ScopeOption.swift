import ArgumentParser
import OZGCore

/// `--scope KEY`: a region and what lies within it (the whole country when not given). One definition for
/// every command that takes a scope, checked when the arguments are parsed.
struct ScopeOption: ParsableArguments {
    @Option(
        name: .customLong("scope"),
        help: ArgumentHelp(
            "Only this region and what lies within it (default: the whole country).",
            discussion: "A key of 2 (Land), 3 (Bezirk), 5 (Kreis), 8 (Gemeinde), 9 (Verband) or 12 (ARS) digits.",
            valueName: "key"))
    var text: String?

    func validate() throws {
        do {
            _ = try key
        } catch let error as InputError {
            throw ValidationError(error.description)
        }
    }

    /// The region key, or `nil` for the whole country.
    var key: RegionKey? {
        get throws { try text.map { value in try parseArgument("--scope", value) { try RegionKey($0) } } }
    }
}
