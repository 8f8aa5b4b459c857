import ArgumentParser
import Foundation
import OZGCore

/// The root command.
@main
struct OZGTrack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ozgtrack",
        abstract: "Tracks the rollout of Germany's online-access law (OZG), region by region and service by service.",
        discussion: """
            Reference data: the OZG catalogue (Themenfelder, Lebenslagen, OZG-Leistungen, LeiKa services) and the \
            Destatis region registry are built in; --catalogue DIR or OZGTRACK_CATALOGUE reads a newer edition \
            in the same format instead. 'ozgtrack about' shows the editions and their sources.

            Exit codes: 0 success (check: thresholds hold; diff: no changes); 1 check falls short or diff found \
            changes; 2 error (bad input, unknown key, usage, unreadable or unwritable file or database).

            Region data: \(Generator.destatisAttribution)
            """,
        version: "\(Generator.name) \(Generator.version)\nRegion data: \(Generator.destatisAttribution)",
        subcommands: [
            InitCommand.self, SetCommand.self, ImportCommand.self, StatusCommand.self, HistoryCommand.self,
            DiffCommand.self, CheckCommand.self, DumpCommand.self, ReportCommand.self, ExportersCommand.self,
            ValidateCommand.self, SchemaCommand.self, DatabaseCommand.self, ServeCommand.self, TokenCommand.self,
            CatalogueCommand.self, RegionsCommand.self, About.self, BenchDataCommand.self,
        ]
    )

    static func main() {
        do {
            // `import *.xml` may name thousands of files: folded while parsed (see FileRuns).
            var arguments = Array(CommandLine.arguments.dropFirst())
            var runs = FileRuns()
            if arguments.first == ImportCommand.configuration.commandName { arguments = runs.fold(arguments) }
            var command = try parseAsRoot(arguments)
            if var importing = command as? ImportCommand, !runs.runs.isEmpty {
                importing.files = runs.unfold(importing.files)
                command = importing
            }
            try command.run()
        } catch {
            exit(withFailure: error)
        }
    }

    /// Prints the error and exits: 2 for every error (usage errors also print the usage), 0 for --help and
    /// --version, and the command's own code for an `ExitCode`.
    static func exit(withFailure error: any Error) -> Never {
        if let exitCode = error as? ExitCode {
            try? StandardOutput.shared.flush()
            Foundation.exit(exitCode.rawValue)
        }
        try? StandardOutput.shared.flush()
        let code = exitCode(for: error)
        if code == .success {
            // --help, --version: ArgumentParser's text goes to stdout.
            self.exit(withError: error)
        }
        if let message = Failure.message(for: error) {
            printError("ozgtrack: error: " + message)
        } else {
            printError(fullMessage(for: error))
        }
        Foundation.exit(2)
    }
}

/// Turns the library's errors into messages.
enum Failure {
    /// The message for errors that ozgtrack raises itself; `nil` for ArgumentParser's usage errors.
    static func message(for error: any Error) -> String? {
        (error as? any DescribedError)?.description
    }
}
