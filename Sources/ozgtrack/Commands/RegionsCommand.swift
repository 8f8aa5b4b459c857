import ArgumentParser
import Foundation
import OZGCore

extension RegionLevel: ExpressibleByArgument {}

struct RegionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regions",
        abstract: "The administrative units of the Destatis registry: Länder, Bezirke, Kreise, Verbände, Gemeinden.",
        discussion: """
            Keys: 2 digits name a Land, 3 a Regierungsbezirk, 5 a Kreis, 8 a Gemeinde (AGS), 9 a \
            Gemeindeverband, 12 a Gemeinde by its ARS.

            Region data: \(Generator.destatisAttribution)
            """,
        subcommands: [Show.self, Search.self, List.self, Changes.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One unit with its place in the hierarchy.")
        @OptionGroup var catalogue: CatalogueOptions
        @Argument(help: "The key (AGS, ARS, or a 2/3/5/9-digit key).") var key: String
        @OptionGroup var output: FormatOptions

        struct Detail: Encodable {
            var region: RegionItem
            var ancestors: [RegionItem]
            var children: Int
            var territoryEdition: String
        }

        func run() throws {
            let data = try catalogue.load()
            let region = try parseArgument("KEY", key) { try data.regions.resolve($0) }
            let ancestors = data.regions.ancestors(of: region.key)
            let children = data.regions.children(of: region.key)
            switch output.format {
            case .json:
                try Listing.printJSON(
                    Detail(
                        region: RegionItem(region), ancestors: ancestors.map(RegionItem.init), children: children.count,
                        territoryEdition: data.regions.date))
            case .csv:
                try Listing.print([RegionItem(region)], format: .csv, csv: output.csv, headers: RegionItem.headers) { $0.cells }
            case .table:
                var lines = [
                    "\(region.name)",
                    "Schlüssel:   \(region.key)\(region.ars.map { "  (ARS \($0))" } ?? "")",
                    "Ebene:       \(region.level.germanName) – \(region.kind)",
                ]
                for ancestor in ancestors {
                    lines.append("gehört zu:   \(ancestor.key) \(ancestor.name) (\(ancestor.kind))")
                }
                if let seat = region.seat { lines.append("Sitz:        \(seat)") }
                lines.append("Einwohner:   \(grouped(region.population))")
                if let postcode = region.postcode { lines.append("PLZ:         \(postcode)") }
                if !children.isEmpty { lines.append("Untergliederung: \(children.count) Einheiten (ozgtrack regions list --within \(region.key))") }
                lines.append("Gebietsstand: \(data.regions.date)")
                try StandardOutput.shared.write(lines.joined(separator: "\n") + "\n")
                try StandardOutput.shared.flush()
            }
        }
    }

    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search",
            abstract: "Finds units by name, ignoring case and accents (\"munchen\" and \"muenchen\" find München).")
        @OptionGroup var catalogue: CatalogueOptions
        @Argument(help: "The name or part of it.") var text: String
        @Option(help: "Only units within this key (e.g. a Land or Kreis).") var within: String?
        @Option(help: "At most this many results.") var limit: Int = 50
        @OptionGroup var output: FormatOptions

        func run() throws {
            let data = try catalogue.load()
            let scope = try within.map { text in try parseArgument("--within", text) { try data.regions.resolve($0) } }
            let found = data.regions.search(text, within: scope?.key, limit: max(0, limit))
            try Listing.print(found.map(RegionItem.init), output: output, headers: RegionItem.headers, right: [6]) { $0.cells }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "The units within a region, optionally of one level.",
            discussion: "Without --level: the units directly below (the Gemeinden of a Kreis, the Kreise of a Land).")
        @OptionGroup var catalogue: CatalogueOptions
        @Option(help: "The region whose units to list; omit for the Länder.") var within: String?
        @Option(help: "Only this level: \(RegionLevel.allCases.map(\.rawValue).joined(separator: ", ")).")
        var level: RegionLevel?
        @OptionGroup var output: FormatOptions

        func run() throws {
            let data = try catalogue.load()
            let scope = try within.map { text in try parseArgument("--within", text) { try data.regions.resolve($0) } }
            let units: [Region]
            if let level {
                units = data.regions.descendants(of: scope?.key, level: level)
            } else if let scope {
                units = data.regions.children(of: scope.key)
            } else {
                units = data.regions.descendants(of: nil, level: .land)
            }
            try Listing.print(units.map(RegionItem.init), output: output, headers: RegionItem.headers, right: [6]) { $0.cells }
        }
    }

    struct Changes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "changes",
            abstract: "Keys removed, added or renamed between an older territory edition and the current one.",
            discussion: "Records that refer to a removed key are kept; 'ozgtrack check' reports them.")
        @OptionGroup var catalogue: CatalogueOptions
        @Option(help: "Only this level (default: all).") var level: RegionLevel?
        @OptionGroup var output: FormatOptions

        struct Item: Encodable {
            var change: String
            var key: String
            var level: String
            var name: String
            var newName: String?
        }

        func run() throws {
            let data = try catalogue.load()
            guard let older = try data.previousTerritories().first else {
                throw InputError(message: "the catalogue has only one territory edition: expected an older one to compare with")
            }
            let levels = level.map { [$0] } ?? Set(RegionLevel.allCases)
            let changes = data.regions.changes(since: older, levels: levels)
            var items = changes.removed.map { Item(change: "removed", key: $0.key.description, level: $0.level.rawValue, name: $0.name) }
            items += changes.added.map { Item(change: "added", key: $0.key.description, level: $0.level.rawValue, name: $0.name) }
            items += changes.renamed.map {
                Item(
                    change: "renamed", key: $0.key.description,
                    level: data.regions.region($0.key)?.level.rawValue ?? "", name: $0.oldName, newName: $0.newName)
            }
            if output.format == .table {
                try StandardOutput.shared.write(
                    "From \(older.date) to \(data.regions.date): \(changes.removed.count) removed, "
                        + "\(changes.added.count) added, \(changes.renamed.count) renamed\n\n")
            }
            try Listing.print(items, output: output, headers: ["change", "key", "level", "name", "new_name"]) {
                [$0.change, $0.key, $0.level, $0.name, $0.newName ?? ""]
            }
        }
    }
}
