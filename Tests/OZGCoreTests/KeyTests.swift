import Foundation
import OZGCore
import Testing

@Suite("Keys validate on construction and say exactly what is wrong")
struct KeyTests {
    @Test("valid OZG-IDs are accepted", arguments: ["10000", "10601", "00001", "99999"])
    func validOZGID(text: String) throws {
        #expect(try OZGID(text).description == text)
    }

    @Test(
        "invalid OZG-IDs are refused with the value and the expected form",
        arguments: ["1000", "100000", "1000a", "", " 10000", "１0000"])
    func invalidOZGID(text: String) {
        #expect(throws: InputError.self) { try OZGID(text) }
        do {
            _ = try OZGID(text)
        } catch {
            #expect(error.message.contains("is not an OZG-ID: expected 5 digits"))
        }
    }

    @Test("an AGS with seven digits is refused with the precise message")
    func agsMessage() {
        do {
            _ = try AGS("0811100")
            Issue.record("accepted a 7-digit AGS")
        } catch {
            #expect(error.description == "'0811100' is not an AGS: expected 8 digits")
        }
    }

    @Test("valid AGS are accepted", arguments: ["08111000", "11000000", "16061119"])
    func validAGS(text: String) throws {
        #expect(try AGS(text).description == text)
    }

    @Test("invalid AGS are refused", arguments: ["0811100", "081110000", "0811100x", ""])
    func invalidAGS(text: String) {
        #expect(throws: InputError.self) { try AGS(text) }
    }

    @Test("valid ARS are accepted and contain their AGS", arguments: [("081110000000", "08111000"), ("146250020020", "14625020")])
    func validARS(text: String, ags: String) throws {
        #expect(try ARS(text).ags.description == ags)
    }

    @Test("invalid ARS are refused", arguments: ["08111000", "0811100000000", "08111000000a"])
    func invalidARS(text: String) {
        #expect(throws: InputError.self) { try ARS(text) }
    }

    @Test("LeiKa keys have 14 digits", arguments: [("99041006000000", true), ("9904100600000", false), ("nicht im LeiKa", false)])
    func leikaKeys(text: String, valid: Bool) {
        #expect(((try? LeiKaKey(text)) != nil) == valid)
    }

    @Test(
        "region keys accept every level's length and name it",
        arguments: [
            ("08", RegionLevel.land, "08"), ("081", .bezirk, "081"), ("08111", .kreis, "08111"),
            ("08111000", .gemeinde, "08111000"), ("081110000", .verband, "081110000"),
            ("081110000000", .gemeinde, "08111000"),
        ])
    func regionKeys(text: String, level: RegionLevel, canonical: String) throws {
        let key = try RegionKey(text)
        #expect(key.lengthLevel == level)
        #expect(key.description == canonical)
    }

    @Test("region keys of other lengths are refused", arguments: ["0", "0811", "081110", "0811100", "08111000000", "abc"])
    func invalidRegionKeys(text: String) {
        #expect(throws: InputError.self) { try RegionKey(text) }
    }

    @Test(
        "dates must be real calendar dates",
        arguments: [("2024-02-29", true), ("2023-02-29", false), ("2024-02-30", false), ("2025-13-01", false),
                    ("2025-6-1", false), ("2025-06-01", true), ("01.06.2025", false)])
    func dates(text: String, valid: Bool) {
        #expect((ISODate(text) != nil) == valid)
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test(
        "are written as UTC ISO 8601 with seconds, the same as Foundation's formatter",
        arguments: [0.0, 1_735_725_600, 951_782_400, 4_102_444_799, 1_709_164_800.999, -86_400, 1_234_567_890])
    func format(seconds: Double) {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let date = Date(timeIntervalSince1970: seconds)
        #expect(Timestamp.string(date) == formatter.string(from: date))
    }
}
