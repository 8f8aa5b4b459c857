import Foundation

/// `lebenslagen.csv`: the Lebenslagen and the Themenfeld of each.
extension ServiceCatalogueReader {
    static func readLebenslagen(_ bytes: UnsafeRawBufferPointer, file: String, themenfelder: [Themenfeld])
        throws(InputError) -> [Lebenslage]
    {
        let table = try CSVTable(bytes: bytes, file: file, required: ["lebenslage_nr", "lebenslage", "themenfeld_nr"])
        var result: [Lebenslage] = []
        let known = Set(themenfelder.map(\.number))
        while try table.next() {
            let number = try number(table, "lebenslage_nr")
            if result.contains(where: { $0.number == number }) {
                throw table.error("lebenslage_nr", "'\(number)' appears again: expected each number once")
            }
            let themenfeld = try self.number(table, "themenfeld_nr")
            guard known.contains(themenfeld) else {
                throw table.error("themenfeld_nr", "'\(themenfeld)': expected a number from themenfelder.csv")
            }
            result.append(Lebenslage(number: number, name: try table.text("lebenslage"), themenfeld: themenfeld))
        }
        return result
    }
}
