public import OZGCore
import CLibXML
import Foundation

/// Writes a report as XML in ozgtrack's own schema (``XMLReportSchema``, namespace
/// `urn:ozgtrack:umsetzungsbericht:1`): the header (`kopf`, with the list of services once), the entries
/// grouped by unit (`einheit`, one `eintrag` per service, values in attributes) as the rows stream past, then
/// the aggregates of that pass (`auswertung`).
///
/// Written with libxml2's `xmlTextWriter` straight into the sink, UTF-8, every `einheit` and `eintrag` on a
/// line of its own; rows are never held in memory. Text is escaped by libxml2; characters XML 1.0 forbids are
/// replaced by U+FFFD first (``XMLText/sanitized(_:)``). Provenance (`aktualisiertAm`, `aktualisiertVon`,
/// `quelle`) is written only when the report's query asks for it. The output validates against the schema and
/// reads back with ``XMLRecordSource``.
public struct XMLExporter: ReportExporter {
    /// `xml`.
    public let identifier = "xml"
    /// One line for `ozgtrack exporters`.
    public let description = "XML in ozgtrack's schema (urn:ozgtrack:umsetzungsbericht:1), for exchange and re-import"
    /// `xml`.
    public let fileExtension = "xml"
    /// `application/xml`.
    public let mediaType = "application/xml"

    /// The XML exporter (it has no options).
    public init() {}

    /// Writes `report` into `sink`.
    /// - Throws: the sink's error (a full disk), the store error that ended the pass over the rows, or an
    ///   `OutputError` from libxml2.
    public func write(_ report: Report, to sink: any OutputSink) throws {
        let diagnostics = LibXMLDiagnostics()
        try LibXMLErrorScope.run(diagnostics) {
            let writer = try XMLStreamWriter(sink: sink, diagnostics: diagnostics)
            let body = XMLReportBody(writer: writer, provenance: report.query.provenance)
            // The pass starts reading the store now, while the header is written.
            let rows = report.rows(withTrend: true)
            try writer.startDocument()
            try writer.startRoot(N.umsetzungsbericht, namespace: XMLReportSchema.namespace)
            try writer.attribute(N.version, N.one)
            let services = report.catalogue.services.services.filter { report.query.filter.includes($0) }
            try body.header(report.header, services: services)
            try body.entries(rows)
            try body.summary(try report.summary(), trend: try report.trend())
            try writer.newline(0)
            try writer.finish()
        }
    }
}

/// The parts of the document, one method each. Depths: `umsetzungsbericht` 0, `kopf`/`eintraege`/`auswertung`
/// 1, `einheit` 2, `eintrag` 3, its text elements 4.
struct XMLReportBody {
    let writer: XMLStreamWriter
    let provenance: Bool

    func header(_ header: ReportHeader, services: [OZGService]) throws {
        try writer.newline(1)
        try writer.start(N.kopf)
        try writer.newline(2)
        try writer.start(N.erzeuger)
        try writer.attribute(N.name, header.generator)
        try writer.attribute(N.version, header.version)
        try writer.end()
        try writer.newline(2)
        try writer.element(N.erstelltAm, Timestamp.string(header.createdAt))
        if let asOf = header.asOf {
            try writer.newline(2)
            try writer.element(N.stichtag, Timestamp.string(asOf))
        }
        try edition(N.katalog, header.catalogue)
        try edition(N.gebietsstand, header.territory)
        try writer.newline(2)
        try writer.start(N.bereich)
        if let key = header.scope.key {
            try writer.newline(3)
            try writer.element(N.regionalschluessel, key)
        }
        try writer.newline(3)
        try writer.element(N.name, header.scope.name)
        try writer.newline(3)
        try writer.element(N.ebene, header.scope.level)
        try writer.newline(2)
        try writer.end()
        try writer.newline(2)
        try writer.start(N.filter)
        if let themenfeld = header.themenfeld {
            try writer.newline(3)
            try writer.element(N.themenfeld, themenfeld)
        }
        try writer.newline(3)
        try writer.element(N.nurKommunal, header.municipalOnly)
        for status in header.statuses ?? [] {
            try writer.newline(3)
            try writer.element(N.status, status)
        }
        try writer.newline(2)
        try writer.end()
        try writer.newline(2)
        try writer.element(N.herkunftEnthalten, header.provenance)
        try writer.newline(2)
        try writer.element(N.berichtseinheiten, header.units)
        try writer.newline(2)
        try writer.start(N.leistungen)
        for service in services {
            try writer.newline(3)
            try writer.start(N.leistung)
            try writer.attribute(N.ozgId, clean: service.id.description)
            try writer.attribute(N.bezeichnung, service.name)
            try writer.attribute(N.themenfeld, service.themenfeld)
            try writer.end()
        }
        if !services.isEmpty { try writer.newline(2) }
        try writer.end()
        try writer.newline(2)
        try writer.element(N.zaehlweise, header.counting)
        try writer.newline(1)
        try writer.end()
    }

    private func edition(_ name: StaticString, _ edition: Edition) throws {
        try writer.newline(2)
        try writer.start(name)
        try writer.newline(3)
        try writer.element(N.ausgabe, edition.name)
        try writer.newline(3)
        try writer.element(N.stand, edition.date)
        try writer.newline(3)
        try writer.element(N.quelle, edition.source)
        try writer.newline(3)
        try writer.element(N.lizenz, edition.licence)
        try writer.newline(2)
        try writer.end()
    }

    /// `eintraege`: one `einheit` per unit with listed rows, one `eintrag` per row, as the pass produces them.
    ///
    /// The hot loop of a national report (six million rows), written as bytes past libxml2 (``XMLDirectSink``)
    /// with libxml2's escaping (``ByteWriter/appendXMLAttribute(_:)``): a unit's start tag and a service's
    /// `eintrag ozgId="…"` are encoded once, statuses and booleans are constants, provenance is encoded once per
    /// change. Through libxml2 — one call per attribute, each escaping and copying into its buffer — this loop
    /// took about as long as reading the store.
    func entries(_ rows: ReportRows) throws {
        let regions = rows.regionList
        let services = rows.serviceList
        var regionTags = EncodedCache(count: regions.count)
        var serviceTags = EncodedCache(count: services.count)
        var actor = EncodedText()
        var source = EncodedText()
        var stamp: (date: Date, bytes: [UInt8])?
        var unit = -1
        try writer.newline(1)
        try writer.start(N.eintraege)
        var out = ByteWriter(sink: XMLDirectSink(writer))
        while let row = rows.nextView() {
            if row.region != unit {
                if unit >= 0 {
                    out.append("\n    </einheit>\n    ")
                } else {
                    try writer.newline(2)  // through libxml2, which closes the start tag of `eintraege`
                }
                unit = row.region
                regionTags.append(unit, to: &out) { [regions] tag in
                    let region = regions[row.region]
                    tag.append("<einheit regionalschluessel=\"")
                    tag.appendXMLAttribute(region.key.description)
                    tag.append("\" name=\"")
                    tag.appendXMLAttribute(region.name)
                    tag.append("\" ebene=\"")
                    tag.append(Self.level(region.level))
                    tag.append(row.isReportingUnit ? "\" berichtseinheit=\"true\">" as StaticString : "\" berichtseinheit=\"false\">")
                }
            }
            serviceTags.append(row.service, to: &out) { [services] tag in
                tag.append("\n      <eintrag ozgId=\"")
                tag.appendXMLAttribute(services[row.service].id.description)
                tag.append(ascii: 0x22)
            }
            let values = row.values
            if let values {
                out.append(Self.statusAttribute(values.status))
                if let level = values.maturity {
                    out.append(" reifegrad=\"")
                    out.append(level)
                    out.append(values.maturityModel == .v2 ? "\" modell=\"2\"" as StaticString : "\" modell=\"1\"")
                }
                if let planned = values.planned {
                    out.append(" geplantZum=\"")
                    out.append(planned)
                    out.append(ascii: 0x22)
                }
                if let since = values.onlineSince {
                    out.append(" onlineSeit=\"")
                    out.append(since)
                    out.append(ascii: 0x22)
                }
            }
            if row.isOnlineIncludingHigherLevel { out.append(" onlineEinschliesslichHoehererEbene=\"true\"") }
            if let key = row.via {
                out.append(" bereitgestelltDurch=\"")
                out.appendXMLAttribute(key.description)
                out.append(ascii: 0x22)
            }
            if provenance, values != nil, let updatedAt = row.updatedAt {
                if stamp?.date != updatedAt {
                    stamp = (
                        updatedAt,
                        ByteWriter.encoded {
                            $0.append(" aktualisiertAm=\"")
                            $0.appendXMLAttribute(Timestamp.string(updatedAt))
                            $0.append("\" aktualisiertVon=\"")
                        }
                    )
                }
                out.append(stamp?.bytes ?? [])
                actor.append(row.updatedBy ?? "", to: &out)
                out.append("\" quelle=\"")
                source.append(row.source ?? "", to: &out)
                out.append(ascii: 0x22)
            }
            if let values, values.url != nil || values.solution != nil || values.note != nil {
                out.append(ascii: 0x3E)
                if let url = values.url {
                    out.append("\n        <url>")
                    out.appendXMLText(url)
                    out.append("</url>")
                }
                if let solution = values.solution {
                    out.append("\n        <loesung>")
                    out.appendXMLText(solution)
                    out.append("</loesung>")
                }
                if let note = values.note {
                    out.append("\n        <notiz>")
                    out.appendXMLText(note)
                    out.append("</notiz>")
                }
                out.append("\n      </eintrag>")
            } else {
                out.append("/>")
            }
            try out.flushIfFull()
        }
        if unit >= 0 { out.append("\n    </einheit>\n  ") }
        try out.flush()
        try writer.end()
    }

    /// ` status="…"` of an entry.
    static func statusAttribute(_ status: Status) -> StaticString {
        switch status {
        case .notStarted: " status=\"not_started\""
        case .planned: " status=\"planned\""
        case .inProgress: " status=\"in_progress\""
        case .online: " status=\"online\""
        case .notApplicable: " status=\"not_applicable\""
        }
    }

    static func status(_ status: Status) -> StaticString {
        switch status {
        case .notStarted: "not_started"
        case .planned: "planned"
        case .inProgress: "in_progress"
        case .online: "online"
        case .notApplicable: "not_applicable"
        }
    }

    static func level(_ level: RegionLevel) -> StaticString {
        switch level {
        case .land: "land"
        case .bezirk: "bezirk"
        case .kreis: "kreis"
        case .verband: "verband"
        case .gemeinde: "gemeinde"
        case .gemeindefrei: "gemeindefrei"
        }
    }

    func summary(_ summary: ReportSummary, trend: ReportTrend? = nil) throws {
        try writer.newline(1)
        try writer.start(N.auswertung)
        try writer.newline(2)
        try writer.start(N.gesamt)
        try counts(summary.overall)
        try writer.newline(2)
        try writer.end()
        for field in summary.themenfelder {
            try writer.newline(2)
            try writer.start(N.themenfeld)
            try writer.attribute(N.nummer, field.number)
            try writer.attribute(N.name, field.name)
            try counts(field.counts)
            try writer.newline(2)
            try writer.end()
        }
        try writer.newline(2)
        try writer.start(N.reifegradverteilung)
        for bucket in summary.maturity {
            try writer.newline(3)
            try writer.start(N.stufe)
            try writer.attribute(N.modell, bucket.model)
            try writer.attribute(N.wert, bucket.level)
            try writer.attribute(N.anzahl, bucket.count)
            try writer.end()
        }
        if !summary.maturity.isEmpty { try writer.newline(2) }
        try writer.end()
        try writer.newline(2)
        try writer.start(N.abdeckung)
        for service in summary.services {
            try writer.newline(3)
            try writer.start(N.leistung)
            try writer.attribute(N.ozgId, service.ozgID)
            try writer.attribute(N.bezeichnung, service.name)
            try writer.attribute(N.themenfeld, service.themenfeld)
            try writer.attribute(N.einheiten, service.units)
            try writer.attribute(N.relevanteEinheiten, service.relevantUnits)
            try coverage(N.eigene, service.onlineOwn, service.shareOwn, service.classOwn)
            try coverage(N.einschliesslichHoehererEbene, service.onlineIncludingHigherLevel, service.shareIncludingHigherLevel, service.classIncludingHigherLevel)
            try writer.newline(3)
            try writer.end()
        }
        if !summary.services.isEmpty { try writer.newline(2) }
        try writer.end()
        try writer.newline(2)
        try writer.element(N.nichtZugeordneteEintraege, summary.orphanedRecords)
        try writer.newline(2)
        try writer.element(N.eintraegeHoehererEbenen, summary.higherLevelRows)
        if let trend { try aggregates(trend: trend, solutions: summary.solutions) }
        try writer.newline(1)
        try writer.end()
    }

    private func coverage(_ name: StaticString, _ count: Int, _ share: Double, _ klasse: CoverageClass) throws {
        try writer.newline(4)
        try writer.start(name)
        try writer.attribute(N.anzahl, count)
        try writer.attribute(N.anteil, clean: Self.decimal(share))
        try writer.attribute(N.klasse, klasse.rawValue)
        try writer.end()
    }

    private func counts(_ counts: ServiceCounts) throws {
        try writer.newline(3)
        try writer.element(N.leistungen, counts.services)
        try writer.newline(3)
        try writer.element(N.erfasst, counts.tracked)
        try writer.newline(3)
        try writer.element(N.nichtBegonnen, counts.count(.notStarted))
        try writer.newline(3)
        try writer.element(N.geplant, counts.count(.planned))
        try writer.newline(3)
        try writer.element(N.inUmsetzung, counts.count(.inProgress))
        try writer.newline(3)
        try writer.element(N.online, counts.count(.online))
        try writer.newline(3)
        try writer.element(N.nichtZustaendig, counts.count(.notApplicable))
        try writer.newline(3)
        try writer.element(N.relevant, counts.relevant)
        try share(N.onlineEigene, counts.online, counts.shareOnline)
        try share(N.onlineEinschliesslichHoehererEbene, counts.onlineIncludingHigherLevel, counts.shareOnlineIncludingHigherLevel)
        try share(N.reifegradMindestens3, counts.maturityAtLeast3, counts.shareMaturityAtLeast3)
        try writer.newline(3)
        try writer.element(N.reifegradModell2, counts.maturityModel2)
    }

    private func share(_ name: StaticString, _ count: Int, _ percent: Double) throws {
        try writer.newline(3)
        try writer.start(name)
        try writer.attribute(N.anteil, clean: Self.decimal(percent))
        try writer.text(count)
        try writer.end()
    }

    /// A percentage with one decimal, never in exponent notation: `12.5`, `0.0`, `100.0`.
    static func decimal(_ percent: Double) -> String {
        guard percent.isFinite else { return "0.0" }
        let tenths = Int((percent * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = tenths.magnitude
        return "\(sign)\(magnitude / 10).\(magnitude % 10)"
    }
}

/// The encoded attribute value of the last text seen: provenance repeats from row to row, so it is sanitized and
/// escaped once per change rather than once per row.
struct EncodedText {
    private var last: String?
    private var encoded: [UInt8] = []

    mutating func append(_ text: String, to out: inout ByteWriter) {
        if last != text {
            last = text
            encoded = ByteWriter.encoded { $0.appendXMLAttribute(text) }
        }
        out.append(encoded)
    }
}
