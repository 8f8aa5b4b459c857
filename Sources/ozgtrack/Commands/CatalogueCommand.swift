import ArgumentParser
import Foundation
import OZGCore

/// The municipal rule, worded once for every place users see it.
let municipalRuleHelp = """
    An OZG-Leistung counts as municipal ("kommunal") when at least one of its LeiKa services has a LeiKa-Typ \
    with execution at municipal level: 2/3, 3, 4 or 5 (Typ 1 is federal, Typ 2 executed by the Länder).
    """

struct CatalogueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalogue",
        abstract: "The OZG catalogue: Themenfelder, Lebenslagen, OZG-Leistungen and their LeiKa services.",
        subcommands: [Stats.self, Topics.self, LifeSituations.self, Services.self, Show.self, Pack.self]
    )

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Counts and editions of the reference data.")
        @OptionGroup var catalogue: CatalogueOptions
        @OptionGroup var output: FormatOptions

        struct Counts: Encodable {
            struct Editions: Encodable {
                var ozg: Edition
                var regions: Edition
            }
            var topicFields, lifeSituations, services, municipalServices, leikaServices: Int
            var laender, regierungsbezirke, districts, municipalAssociations, municipalities, unincorporatedAreas: Int
            var edition: Editions
        }

        func run() throws {
            let data = try catalogue.load()
            let regions = data.regions
            let counts = Counts(
                topicFields: data.services.themenfelder.count, lifeSituations: data.services.lebenslagen.count,
                services: data.services.services.count, municipalServices: data.services.municipalServices.count,
                leikaServices: data.services.leikaCount, laender: regions.count(.land),
                regierungsbezirke: regions.count(.bezirk), districts: regions.count(.kreis),
                municipalAssociations: regions.count(.verband), municipalities: regions.count(.gemeinde),
                unincorporatedAreas: regions.count(.gemeindefrei),
                edition: .init(ozg: data.services.edition, regions: regions.edition))
            let rows: [(String, Int)] = [
                ("Themenfelder", counts.topicFields), ("Lebens- und Unternehmenslagen", counts.lifeSituations),
                ("OZG-Leistungen", counts.services), ("  davon kommunal", counts.municipalServices),
                ("LeiKa-Leistungen", counts.leikaServices), ("Länder", counts.laender),
                ("Regierungsbezirke", counts.regierungsbezirke), ("Kreise", counts.districts),
                ("Gemeindeverbände", counts.municipalAssociations), ("Gemeinden", counts.municipalities),
                ("gemeindefreie Gebiete", counts.unincorporatedAreas),
            ]
            switch output.format {
            case .json:
                try Listing.printJSON(counts)
            case .csv:
                let lines = [
                    ["topicFields", "lifeSituations", "services", "municipalServices", "leikaServices", "laender",
                     "regierungsbezirke", "districts", "municipalAssociations", "municipalities",
                     "unincorporatedAreas", "ozgEdition", "ozgDate", "regionsEdition", "regionsDate"],
                    [counts.topicFields, counts.lifeSituations, counts.services, counts.municipalServices,
                     counts.leikaServices, counts.laender, counts.regierungsbezirke, counts.districts,
                     counts.municipalAssociations, counts.municipalities, counts.unincorporatedAreas].map(String.init)
                        + [data.services.edition.name, data.services.edition.date, regions.edition.name, regions.edition.date],
                ]
                try Listing.printCSV(headers: lines[0], rows: Array(lines.dropFirst()), csv: output.csv)
            case .table:
                var table = TextTable(["", "Anzahl"], right: [1])
                for row in rows { table.add([row.0, String(row.1)]) }
                try StandardOutput.shared.write(
                    table.render()
                        + "\nOZG-Katalog: \(data.services.edition.name)\nGebietsstand: \(regions.edition.name)\n")
            }
            try StandardOutput.shared.flush()
        }
    }

    struct Topics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "topics",
            abstract: "The 14 Themenfelder with their lead Länder, federal ministry, verification and services.",
            discussion: "Leads marked 'unverified' are not backed by any source found; no lead is given for them.")
        @OptionGroup var catalogue: CatalogueOptions
        @OptionGroup var output: FormatOptions

        struct Item: Encodable {
            var number: Int
            var name: String
            var leadLaender: [LandRef]
            var leadText: String
            var leadMinistry: String?
            var ministryText: String
            var verification: String
            var verificationText: String
            var sources: [String]
            var services: Int
            var municipalServices: Int
        }

        struct LandRef: Encodable {
            var key: String
            var name: String
        }

        func run() throws {
            let data = try catalogue.load()
            let items = data.services.themenfelder.map { field in
                let services = data.services.services(inThemenfeld: field.number)
                return Item(
                    number: field.number, name: field.name,
                    leadLaender: field.leadLaender.map { code in
                        LandRef(key: code, name: (try? RegionKey(code)).flatMap(data.regions.region)?.name ?? code)
                    },
                    leadText: field.leadText, leadMinistry: field.leadMinistry, ministryText: field.ministryText,
                    verification: field.verification.rawValue, verificationText: field.verificationText,
                    sources: field.sources, services: services.count, municipalServices: services.filter(\.isMunicipal).count)
            }
            try Listing.print(
                items, output: output,
                headers: ["nr", "themenfeld", "federfuehrung", "bundesressort", "beleg", "leistungen", "kommunal"],
                right: [0, 5, 6]
            ) { item in
                let lead = item.leadLaender.isEmpty ? "–" : item.leadLaender.map(\.name).joined(separator: " + ")
                return [
                    String(item.number), item.name, lead, item.leadMinistry ?? "–", item.verification,
                    String(item.services), String(item.municipalServices),
                ]
            }
        }
    }

    struct LifeSituations: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "life-situations", abstract: "The 55 Lebens- und Unternehmenslagen.")
        @OptionGroup var catalogue: CatalogueOptions
        @Option(name: .customLong("topic"), help: "Only those of this Themenfeld (number or name).")
        var topic: String?
        @OptionGroup var output: FormatOptions

        struct Item: Encodable {
            var number: Int
            var name: String
            var themenfeld: Int
            var themenfeldName: String
            var services: Int
        }

        func run() throws {
            let data = try catalogue.load().services
            let field = try topic.map { text in try parseArgument("--topic", text) { try data.themenfeld(matching: $0) } }
            let items = data.lebenslagen.filter { field == nil || $0.themenfeld == field?.number }.map {
                Item(
                    number: $0.number, name: $0.name, themenfeld: $0.themenfeld,
                    themenfeldName: data.themenfeld($0.themenfeld)?.name ?? "",
                    services: data.services(inLebenslage: $0.number).count)
            }
            try Listing.print(
                items, output: output, headers: ["nr", "lebenslage", "themenfeld", "leistungen"], right: [0, 3]
            ) { [String($0.number), $0.name, $0.themenfeldName, String($0.services)] }
        }
    }

    struct Services: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "services",
            abstract: "OZG-Leistungen, filtered by Themenfeld, Lebenslage, municipal relevance or text.",
            discussion: municipalRuleHelp)
        @OptionGroup var catalogue: CatalogueOptions
        @Option(name: .customLong("topic"), help: "Only this Themenfeld (number or name, e.g. 6 or 'familie').")
        var topic: String?
        @Option(name: .customLong("life-situation"), help: "Only this Lebenslage (number or name).")
        var lifeSituation: String?
        @Flag(help: "Only services that concern municipalities (see below).")
        var municipal = false
        @Option(help: "Text to find in the name, OZG-ID, LeiKa keys or LeiKa names (case and accents ignored).")
        var search: String?
        @OptionGroup var output: FormatOptions

        func run() throws {
            let data = try catalogue.load().services
            let field = try topic.map { text in try parseArgument("--topic", text) { try data.themenfeld(matching: $0) } }
            let situation = try lifeSituation.map { text in
                try parseArgument("--life-situation", text) { try data.lebenslage(matching: $0) }
            }
            let services = data.services(
                themenfeld: field?.number, lebenslage: situation?.number, municipalOnly: municipal, text: search)
            let items = services.map { ServiceItem($0, in: data) }
            try Listing.print(
                items, output: output,
                headers: ["ozg_id", "leistung", "themenfeld", "lebenslage", "leika_typen", "kommunal"]
            ) { [$0.ozgID, $0.name, $0.themenfeldName, $0.lebenslageName, $0.leikaTypes.joined(separator: " | "), $0.municipal ? "ja" : "nein"] }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "One OZG-Leistung with its LeiKa services and their types.", discussion: municipalRuleHelp)
        @OptionGroup var catalogue: CatalogueOptions
        @Argument(help: "The OZG-ID (5 digits).") var ozgID: String
        @OptionGroup var output: FormatOptions

        struct Detail: Encodable {
            var service: ServiceItem
            var leika: [LeiKaItem]
        }

        struct LeiKaItem: Encodable {
            var key: String?
            var name: String
            var type: String
            var typeCodes: [String]
            var municipal: Bool
            var legalBasis: String
            var laws: String
            var lawAbbreviation: String
            var sdg1: Bool
            var sdg2: Bool
        }

        func run() throws {
            let data = try catalogue.load().services
            let id = try parseArgument("OZG-ID", ozgID) { try OZGID($0) }
            guard let service = data.service(id) else {
                throw InputError(
                    field: "OZG-ID",
                    message: "'\(id)' is not in the catalogue (\(data.edition.date)): expected an OZG-ID such as 10000 "
                        + "(ozgtrack catalogue services --search TEXT finds one)")
            }
            let leika = service.leika.map {
                LeiKaItem(
                    key: $0.key?.description, name: $0.name, type: $0.type.raw, typeCodes: $0.type.codes,
                    municipal: $0.type.isMunicipal, legalBasis: $0.legalBasis, laws: $0.laws,
                    lawAbbreviation: $0.lawAbbreviation, sdg1: $0.sdg1, sdg2: $0.sdg2)
            }
            let item = ServiceItem(service, in: data)
            switch output.format {
            case .json:
                try Listing.printJSON(Detail(service: item, leika: leika))
            case .csv:
                try Listing.print(
                    leika, format: .csv, csv: output.csv,
                    headers: ["leika_schluessel", "leika_bezeichnung", "leika_typ", "kommunal", "rechtsgrundlage"]
                ) { [$0.key ?? "", $0.name, $0.type, $0.municipal ? "ja" : "nein", $0.legalBasis] }
            case .table:
                var text = """
                    \(item.ozgID)  \(item.name)
                    Themenfeld:  \(service.themenfeld) \(item.themenfeldName)
                    Lebenslage:  \(service.lebenslage) \(item.lebenslageName)
                    LeiKa-Typen: \(item.leikaTypes.isEmpty ? "–" : item.leikaTypes.joined(separator: ", "))
                    Kommunal:    \(item.municipal ? "ja" : "nein") (Regel: mindestens eine LeiKa-Leistung mit Typ 2/3, 3, 4 oder 5)

                    """
                var table = TextTable(["leika_schluessel", "leika_bezeichnung", "typ", "kommunal", "rechtsgrundlage"])
                for entry in leika {
                    table.add([
                        entry.key ?? "nicht im LeiKa", entry.name, entry.type.isEmpty ? "–" : entry.type,
                        entry.municipal ? "ja" : "nein", entry.lawAbbreviation.isEmpty ? entry.laws : entry.lawAbbreviation,
                    ])
                }
                text += "\n" + table.render()
                try StandardOutput.shared.write(text)
                try StandardOutput.shared.flush()
            }
        }
    }

    /// Writes the packed form of a catalogue folder, which the build compiles in for a fast start (see
    /// `PackedCatalogue`); `scripts/pack-catalogue.sh` runs it for the repository's `catalogue/`.
    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pack",
            abstract: "Writes the packed form of a catalogue folder (for building ozgtrack: scripts/pack-catalogue.sh).",
            shouldDisplay: false)
        @Argument(help: "The catalogue folder (plain files).") var folder: String
        @Option(help: ArgumentHelp("The folder to write the packed files into.", valueName: "dir")) var output: String

        func run() throws {
            let data = try Catalogue.load(from: .folder(URL(fileURLWithPath: folder)))
            let target = URL(fileURLWithPath: output)
            let files = try PackedCatalogue.files(of: data)
            for file in files {
                try file.text.write(to: target.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
            }
            // Packed files of editions the folder no longer lists would be compiled in for nothing.
            let names = Set(files.map(\.name))
            for name in try FileManager.default.contentsOfDirectory(atPath: target.path)
            where name.hasSuffix(".packed") && !names.contains(name) {
                try FileManager.default.removeItem(at: target.appendingPathComponent(name))
            }
            try StandardOutput.shared.write(files.map { "wrote \(output)/\($0.name)\n" }.joined())
            try StandardOutput.shared.flush()
        }
    }
}
