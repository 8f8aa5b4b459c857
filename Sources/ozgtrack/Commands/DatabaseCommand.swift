import ArgumentParser
import Foundation
import OZGCore
import PostgresStore

/// `ozgtrack db …`: whole-store operations.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Whole-store operations: copy a store between backends.",
        subcommands: [DatabaseCopyCommand.self])
}

/// `ozgtrack db copy FROM TO`.
struct DatabaseCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a whole store, history included, into a new empty store (any two backends).",
        discussion: """
            FROM and TO are each a SQLite file or a PostgreSQL URL (postgresql://USER@HOST:PORT/DB?schema=NAME). TO is \
            created if needed (like 'ozgtrack init') and must hold no records. Every batch (time, actor, source, \
            command) and every version is copied in one transaction of TO: all or nothing. Afterwards 'dump' and \
            'history' give the same output on both.

            Examples:
              ozgtrack db copy ozgtrack.sqlite 'postgresql://owner@db.example.org/ozg'   # a team outgrows the file
              ozgtrack db copy 'postgresql://reader@db.example.org/ozg' offline.sqlite   # an offline copy
            """)

    @Argument(help: ArgumentHelp("The store to copy: a SQLite file or a postgresql:// URL.", valueName: "from"))
    var from: String
    @Argument(help: ArgumentHelp("The new store: a SQLite file or a postgresql:// URL.", valueName: "to"))
    var to: String
    @Option(help: "Output: text or json.") var format: ResultFormat = .text

    func run() throws {
        if from == to { throw ValidationError("FROM and TO are the same store") }
        let source = try AnyBackend.open(from, create: false)
        let target = try AnyBackend.open(to, create: true)
        let summary = try source.copy(to: target)
        switch format {
        case .json: try Listing.printJSON(summary)
        case .text:
            try StandardOutput.shared.write("copied \(summary.batches) batches and \(summary.versions) versions into \(target.name)\n")
            try StandardOutput.shared.flush()
        }
    }
}

/// A store's backend, whichever it is.
struct AnyBackend {
    /// The store's name for messages (a path, or a URL without its password).
    let name: String
    private let sqlite: SQLiteStore?
    private let postgres: PostgresBackend?

    /// Opens `location` (for the target: created if needed).
    static func open(_ location: String, create: Bool) throws -> AnyBackend {
        if PostgresDatabase.isURL(location) {
            let backend = try PostgresDatabase.open(location, mode: create ? .create : .read)
            return AnyBackend(name: backend.configuration.description, sqlite: nil, postgres: backend)
        }
        if !create && !FileManager.default.fileExists(atPath: location) {
            throw StoreError("no database at \(location)")
        }
        let store = try SQLiteStore(path: location, mode: create ? .create : .read)
        return AnyBackend(name: location, sqlite: store, postgres: nil)
    }

    func copy(to target: AnyBackend) throws -> StoreCopy.Summary {
        if let sqlite { return try target.receive(from: sqlite.store.backend) }
        if let postgres { return try target.receive(from: postgres) }
        throw StoreError("no store")
    }

    private func receive<Source: StoreBackend>(from source: Source) throws -> StoreCopy.Summary {
        if let sqlite { return try StoreCopy.run(from: source, to: sqlite.store.backend) }
        if let postgres { return try StoreCopy.run(from: source, to: postgres) }
        throw StoreError("no store")
    }
}
