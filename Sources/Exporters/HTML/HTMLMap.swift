import OZGCore

/// The map section: the scope's units coloured by their online share (including higher level).
extension HTMLPage {
    /// Five classes of the share online, viridis (sequential, readable with every common colour-vision deficiency
    /// and in grey scale), from dark to light.
    static let mapClasses: [(label: String, colour: String, upTo: Double)] = [
        ("unter 20 %", "#440154", 20),
        ("20 bis unter 40 %", "#3B528B", 40),
        ("40 bis unter 60 %", "#21918C", 60),
        ("60 bis unter 80 %", "#5EC962", 80),
        ("80 % und mehr", "#FDE725", .infinity),
    ]
    static let noData = (label: "keine relevanten Leistungen", colour: "#BDBDBD")

    static func colour(_ unit: UnitFigures) -> String {
        guard unit.relevant > 0 else { return noData.colour }
        return mapClasses.first { unit.shareIncluding < $0.upTo }?.colour ?? noData.colour
    }

    /// What the map draws: the units (coloured), grey context shapes and outlines, by shape key.
    struct MapPlan {
        var units: [UnitFigures]
        var context: [String] = []
        var outlines: [String] = []
        var caption: String
    }

    var mapPlan: MapPlan {
        let registry = report.catalogue.regions
        switch kind {
        case .country:
            return MapPlan(
                units: grouped(prefix: 5), outlines: grouped(prefix: 2).map(\.key),
                caption: "Die Kreise, gefärbt nach dem Anteil online einschließlich höherer Ebene (Summe ihrer Gemeinden); Linien: Ländergrenzen.")
        case .land:
            return MapPlan(
                units: units, outlines: grouped(prefix: 5).map(\.key),
                caption: "Die Gemeinden, gefärbt nach dem Anteil online einschließlich höherer Ebene; Linien: Kreisgrenzen.")
        case .kreis:
            return MapPlan(units: units, caption: "Die Gemeinden, gefärbt nach dem Anteil online einschließlich höherer Ebene.")
        case .gemeinde:
            let key = units.first?.key ?? ""
            let kreis = String(key.prefix(5))
            let context = (try? RegionKey(kreis)).map { registry.descendants(of: $0, level: .gemeinde).map(\.key.description) } ?? []
            return MapPlan(
                units: units, context: context.filter { $0 != key }, outlines: context.isEmpty ? [] : [kreis],
                caption: "Die Gemeinde in ihrem Kreis (grau: die anderen Gemeinden des Kreises), gefärbt nach dem Anteil online einschließlich höherer Ebene.")
        }
    }

    func map() -> String {
        var text = "<section id=\"karte\">\n<h2>Karte</h2>\n"
        guard let shapes = MapShapes.embedded else {
            return text + "<p>Die Kartendaten fehlen in diesem Programm.</p>\n</section>\n"
        }
        let plan = mapPlan
        var paths: [(kind: String, key: String, d: [UInt8], unit: UnitFigures?)] = []
        var minX = Int32.max
        var minY = Int32.max
        var maxX = Int32.min
        var maxY = Int32.min
        var missing: [UnitFigures] = []
        func add(_ key: String, kind: String, unit: UnitFigures?) -> Bool {
            guard let rings = shapes.rings(key) else { return false }
            let d = ByteWriter.encoded { out in
                for ring in rings where !ring.isEmpty {
                    var previous = ring[0]
                    out.append("M")
                    out.append(Int(previous.x))
                    out.append(ascii: 0x20)
                    out.append(Int(previous.y))
                    out.append("l")
                    var first = true
                    for point in ring.dropFirst() {
                        let dx = Int(point.x - previous.x)
                        let dy = Int(point.y - previous.y)
                        if !first && dx >= 0 { out.append(ascii: 0x20) }
                        out.append(dx)
                        if dy >= 0 { out.append(ascii: 0x20) }
                        out.append(dy)
                        first = false
                        previous = point
                    }
                    out.append("z")
                }
            }
            if kind != "outline" || plan.units.isEmpty {
                for ring in rings {
                    for point in ring {
                        minX = min(minX, point.x)
                        minY = min(minY, point.y)
                        maxX = max(maxX, point.x)
                        maxY = max(maxY, point.y)
                    }
                }
            }
            paths.append((kind, key, d, unit))
            return true
        }
        for key in plan.context { _ = add(key, kind: "ctx", unit: nil) }
        for unit in plan.units where !add(unit.key, kind: "u", unit: unit) { missing.append(unit) }
        for key in plan.outlines { _ = add(key, kind: "outline", unit: nil) }
        guard minX <= maxX else {
            text += "<p>Für keine Einheit dieses Bereichs gibt es einen Umriss.</p>\n"
            return text + missingList(missing) + "</section>\n"
        }
        let margin: Int32 = 4
        let viewBox = "\(minX - margin) \(minY - margin) \(maxX - minX + 2 * margin) \(maxY - minY + 2 * margin)"
        text += "<figure>\n<svg class=\"map\" role=\"img\" aria-labelledby=\"map-title map-desc\" viewBox=\"\(viewBox)\" data-units=\"\(plan.units.count - missing.count)\">\n"
        text += "<title id=\"map-title\">Karte: Anteil online je Einheit</title>\n"
        text += "<desc id=\"map-desc\">\(HTML.escape(plan.caption)) Jede Fläche nennt beim Überfahren Namen und Zahlen; dieselben Zahlen stehen in den Tabellen.</desc>\n"
        var writer = ""
        for path in paths {
            let d = String(decoding: path.d, as: UTF8.self)
            switch path.kind {
            case "u":
                guard let unit = path.unit else { continue }
                writer += "<path class=\"u\" data-key=\"\(unit.key)\" fill=\"\(Self.colour(unit))\" d=\"\(d)\"><title>\(HTML.escape(unit.name)) (\(unit.key)): online \(HTML.percent(unit.shareIncluding)) einschl. höherer Ebene, \(HTML.percent(unit.shareOnline)) eigene; \(HTML.number(unit.relevant)) relevante Leistungen</title></path>\n"
            case "ctx":
                writer += "<path class=\"ctx\" d=\"\(d)\"/>\n"
            default:
                writer += "<path class=\"outline\" d=\"\(d)\"/>\n"
            }
        }
        text += writer + "</svg>\n<figcaption>" + HTML.escape(plan.caption) + "<br>"
        text += Self.legend(Self.mapClasses.map { ($0.label, $0.colour) } + [(Self.noData.label, Self.noData.colour)])
        text += "<br>Karte: <a href=\"https://www.bkg.bund.de\" rel=\"noopener noreferrer\">© GeoBasis-DE / BKG 2021 (Daten verändert)</a>, dl-de/by-2-0.</figcaption>\n</figure>\n"
        return text + missingList(missing) + "</section>\n"
    }

    private func missingList(_ missing: [UnitFigures]) -> String {
        guard !missing.isEmpty else { return "" }
        return "<p class=\"missing\">Ohne Umriss auf der Karte (\(missing.count)): "
            + missing.map { "\(HTML.escape($0.name)) (\($0.key))" }.joined(separator: ", ") + ".</p>\n"
    }
}
