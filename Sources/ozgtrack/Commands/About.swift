import ArgumentParser
import Foundation
import OZGCore

struct About: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "about",
        abstract: "Version, the editions of the reference data, their sources and the required attribution.")
    @OptionGroup var catalogue: CatalogueOptions
    @OptionGroup var output: FormatOptions

    struct Info: Encodable {
        var generator: String
        var version: String
        var catalogueSource: String
        var editions: [Edition]
    }

    func run() throws {
        let data = try catalogue.load()
        let info = Info(
            generator: Generator.name, version: Generator.version, catalogueSource: data.source.description,
            editions: data.editions)
        switch output.format {
        case .json:
            try Listing.printJSON(info)
        case .csv:
            try Listing.print(data.editions, format: .csv, csv: output.csv, headers: ["part", "path", "edition", "date", "source", "licence"]) {
                [$0.part, $0.path, $0.name, $0.date, $0.source, $0.licence]
            }
        case .table:
            var text = "\(Generator.name) \(Generator.version) — reference data: \(data.source)\n"
            for edition in data.editions {
                let current = edition.path == data.regions.edition.path || edition.part == "ozg"
                text += """

                    \(edition.part == "ozg" ? "OZG-Katalog" : "Gebietsstand")\(current ? "" : " (ältere Ausgabe)"): \(edition.name)
                      Stand:  \(edition.date)
                      Datei:  \(edition.path)
                      Quelle: \(edition.source)
                      Lizenz: \(edition.licence)

                    """
            }
            try StandardOutput.shared.write(text)
            try StandardOutput.shared.flush()
        }
    }
}
