/// Long runs of file names on the command line, folded into one placeholder each while ArgumentParser parses
/// and unfolded afterwards.
///
/// Why: the ministry runs `ozgtrack import *.xml` over the reports of every Gemeinde — 10,751 file names.
/// swift-argument-parser (1.8.2) merges the set of input positions of an array argument with every value it
/// adds, which is quadratic in the number of values: parsing the national collection's 10,751 names took 3.8 s
/// before the import read its first file (`perf record`: `Set.formUnion` in `ParsedValues.set`; 2.2 s for 8,320
/// names), a fifth of the whole import. Folded, the parser sees a few arguments and still checks every option.
///
/// Exact by construction: every option of `import` takes at most one value, so in a run of arguments that do
/// not start with `-` only the first can be an option's value; the rest are files whatever precedes the run.
/// The first stays in place and the rest become one placeholder, a positional value that comes after it, so
/// unfolding the parsed file list restores the names in their order.
struct FileRuns {
    /// What a placeholder starts with: a control character no file name on a command line begins with (when one
    /// does, nothing is folded).
    static let marker = "\u{1}ozgtrack-files-"
    /// Runs shorter than this are left as they are (folding them saves nothing).
    static let minimumRun = 16

    /// The folded runs, the placeholder `marker + index` standing for `runs[index]`.
    private(set) var runs: [[String]] = []

    /// Folds the runs of `arguments` (without the program's name).
    mutating func fold(_ arguments: [String]) -> [String] {
        guard !arguments.contains(where: { $0.hasPrefix(Self.marker) }) else { return arguments }
        var folded: [String] = []
        folded.reserveCapacity(arguments.count)
        var index = 0
        while index < arguments.count {
            var end = index
            while end < arguments.count, Self.isPlain(arguments[end]) { end += 1 }
            if end - index >= Self.minimumRun {
                folded.append(arguments[index])
                folded.append(Self.marker + String(runs.count))
                runs.append(Array(arguments[(index + 1)..<end]))
                index = end
            } else {
                folded.append(arguments[index])
                index += 1
            }
        }
        return folded
    }

    /// `files` as parsed from the folded arguments, with every placeholder replaced by its run.
    func unfold(_ files: [String]) -> [String] {
        guard !runs.isEmpty else { return files }
        var unfolded: [String] = []
        unfolded.reserveCapacity(files.count + runs.reduce(0) { $0 + $1.count })
        for file in files {
            if file.hasPrefix(Self.marker), let number = Int(file.dropFirst(Self.marker.count)), runs.indices.contains(number) {
                unfolded.append(contentsOf: runs[number])
            } else {
                unfolded.append(file)
            }
        }
        return unfolded
    }

    /// An argument ArgumentParser takes as a value, never as an option or the terminator (`-`, standard input,
    /// is left alone too).
    private static func isPlain(_ argument: String) -> Bool { !argument.hasPrefix("-") }
}
