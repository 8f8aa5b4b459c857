/// The outlines of the Gemeinden (territory of 30.11.2025), Kreise and Länder, from BKG's VG5000 (Stand 01.01.2021,
/// © GeoBasis-DE / BKG 2021 (Daten verändert), dl-de/by-2-0), projected, simplified and quantised by
/// `scripts/derive-geo.py` into `catalogue/geo/shapes.txt` (format and derivation in `catalogue/geo/README.md`),
/// which is compiled into this library.
///
/// Shapes share their borders as arcs; a unit is a list of rings, each a list of arcs (some walked backwards).
package struct MapShapes: Sendable {
    /// A point on the grid (x to the east, y to the south).
    package struct Point: Sendable, Equatable {
        package var x: Int32
        package var y: Int32
    }

    /// The arcs' points.
    private var arcs: [[Point]] = []
    /// Per unit key (8-digit AGS, 5-digit Kreis, 2-digit Land): its rings as arc references (`~n`: arc n backwards).
    private var units: [String: [[Int32]]] = [:]

    /// The shapes compiled into the library (`nil` only if the embedded file were malformed, which a test rules out).
    package static let embedded: MapShapes? = {
        guard let text = EmbeddedData.files["catalogue/geo/shapes.txt"] else { return nil }
        return text.withUTF8Buffer { MapShapes(parsing: $0) }
    }()

    /// Parses the text format of `shapes.txt`; `nil` when it is malformed.
    package init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
            start = end + 1
            guard line.count > 2 else { continue }
            switch line[0] {
            case UInt8(ascii: "A"):
                guard let arc = Self.decodeArc(UnsafeBufferPointer(rebasing: line[2...])) else { return nil }
                arcs.append(arc)
            case UInt8(ascii: "U"):
                guard let space = line[2...].firstIndex(of: 0x20) else { return nil }
                let key = String(decoding: line[2..<space], as: UTF8.self)
                var rings: [[Int32]] = [[]]
                var value: Int32 = 0
                var negative = false
                var inNumber = false
                for byte in line[(space + 1)...] + [UInt8(ascii: ";")] {
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"):
                        value = value &* 10 &+ Int32(byte - 0x30)
                        inNumber = true
                    case UInt8(ascii: "~"):
                        negative = true
                    case UInt8(ascii: ","), UInt8(ascii: ";"):
                        guard inNumber else { return nil }
                        rings[rings.count - 1].append(negative ? ~value : value)
                        if byte == UInt8(ascii: ";") { rings.append([]) }
                        value = 0
                        negative = false
                        inNumber = false
                    default:
                        return nil
                    }
                }
                rings.removeLast()
                units[key] = rings
            default:
                continue
            }
        }
        for rings in units.values {
            for ring in rings {
                for reference in ring where Int(reference < 0 ? ~reference : reference) >= arcs.count { return nil }
            }
        }
    }

    /// Google's polyline encoding: zig-zag integers in 5-bit groups, characters 63–126; the first point absolute,
    /// then differences.
    private static func decodeArc(_ bytes: UnsafeBufferPointer<UInt8>) -> [Point]? {
        var values: [Int32] = []
        var value: Int32 = 0
        var shift: Int32 = 0
        for byte in bytes {
            guard byte >= 63, byte <= 126, shift < 30 else { return nil }
            let chunk = Int32(byte - 63)
            value |= (chunk & 0x1F) << shift
            if chunk & 0x20 != 0 {
                shift += 5
            } else {
                values.append(value & 1 == 1 ? ~(value >> 1) : value >> 1)
                value = 0
                shift = 0
            }
        }
        guard values.count >= 4, values.count % 2 == 0 else { return nil }
        var points: [Point] = []
        points.reserveCapacity(values.count / 2)
        var x: Int32 = 0
        var y: Int32 = 0
        for index in stride(from: 0, to: values.count, by: 2) {
            x &+= values[index]
            y &+= values[index + 1]
            points.append(Point(x: x, y: y))
        }
        return points
    }

    /// Whether the unit `key` has a shape.
    package func contains(_ key: String) -> Bool { units[key] != nil }

    /// The unit's rings as closed point lists (the first point is not repeated at the end), or `nil` without a shape.
    package func rings(_ key: String) -> [[Point]]? {
        guard let references = units[key] else { return nil }
        return references.map { ring in
            var points: [Point] = []
            for reference in ring {
                let arc: [Point] = reference < 0 ? Array(arcs[Int(~reference)].reversed()) : arcs[Int(reference)]
                points.append(contentsOf: points.isEmpty ? arc[...] : arc.dropFirst())
            }
            if points.count > 1, points.first == points.last { points.removeLast() }
            return points
        }
    }
}
