import Foundation

/// `themenfelder.csv`: the Themenfelder with their lead Länder, federal ministry and how well both are verified.
extension ServiceCatalogueReader {
    static func readThemenfelder(_ bytes: UnsafeRawBufferPointer, file: String) throws(InputError) -> [Themenfeld] {
        let table = try CSVTable(
            bytes: bytes, file: file,
            required: [
                "themenfeld_nr", "themenfeld", "federfuehrende_laender", "federfuehrung_quelltext",
                "federfuehrendes_bundesressort", "bundesressort_quelltext", "belegstatus", "belegstatus_quelltext",
                "quelle",
            ])
        var result: [Themenfeld] = []
        while try table.next() {
            let number = try number(table, "themenfeld_nr")
            if result.contains(where: { $0.number == number }) {
                throw table.error("themenfeld_nr", "'\(number)' appears again: expected each number once")
            }
            let leadText = try table.text("federfuehrende_laender")
            let laender = leadText.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
            for land in laender where !Digits.match(land, count: 2) {
                throw table.error(
                    "federfuehrende_laender", "\(land.quotedForMessage): expected two-digit Land codes separated by ';'")
            }
            let statusText = try table.text("belegstatus")
            guard let verification = Themenfeld.Verification(rawValue: statusText) else {
                throw table.error("belegstatus", "\(statusText.quotedForMessage): expected verified, partly_verified or unverified")
            }
            if verification == .unverified && !laender.isEmpty {
                throw table.error(
                    "federfuehrende_laender", "'\(leadText)' for an unverified Themenfeld: expected no lead where none is verified")
            }
            let ministry = try table.text("federfuehrendes_bundesressort")
            let sources = try table.text("quelle").components(separatedBy: " ; ").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
            result.append(
                Themenfeld(
                    number: number, name: try table.text("themenfeld"), leadLaender: laender,
                    leadText: try table.text("federfuehrung_quelltext"), leadMinistry: ministry.isEmpty ? nil : ministry,
                    ministryText: try table.text("bundesressort_quelltext"), verification: verification,
                    verificationText: try table.text("belegstatus_quelltext"), sources: sources))
        }
        return result
    }
}
