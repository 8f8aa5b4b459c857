public import OZGCore

/// Writes a report as XML in ozgtrack's own schema (``XMLReportSchema``, namespace
/// `urn:ozgtrack:umsetzungsbericht:1`): the header (`kopf`), one `eintrag` per row as the rows stream past, then
/// the aggregates of that pass (`auswertung`).
///
/// Written with libxml2's `xmlTextWriter` straight into the sink, UTF-8 and indented; rows are never held in
/// memory. Text is escaped by libxml2; characters XML 1.0 forbids are replaced by U+FFFD first
/// (``XMLText/sanitized(_:)``). Provenance (`aktualisiertAm`, `aktualisiertVon`, `quelle`) is written only when
/// the report's query asks for it. The output validates against the schema and reads back with
/// ``XMLRecordSource``.
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
            try writer.startDocument()
            try writer.startRoot(N.umsetzungsbericht, namespace: XMLReportSchema.namespace)
            try writer.attribute(N.version, XMLReportSchema.version)
            try body.header(report.header)
            try writer.start(N.eintraege)
            for row in report.rows() { try body.entry(row) }
            try writer.end()
            try body.summary(try report.summary())
            try writer.end()
            try writer.finish()
        }
    }
}

/// The parts of the document, one method each.
struct XMLReportBody {
    let writer: XMLStreamWriter
    let provenance: Bool

    func header(_ header: ReportHeader) throws {
        try writer.start(N.kopf)
        try writer.start(N.erzeuger)
        try writer.attribute(N.name, header.generator)
        try writer.attribute(N.version, header.version)
        try writer.end()
        try writer.element(N.erstelltAm, token: Timestamp.string(header.createdAt))
        if let asOf = header.asOf { try writer.element(N.stichtag, token: Timestamp.string(asOf)) }
        try edition(N.katalog, header.catalogue)
        try edition(N.gebietsstand, header.territory)
        try writer.start(N.bereich)
        if let key = header.scope.key { try writer.element(N.regionalschluessel, key) }
        try writer.element(N.name, header.scope.name)
        try writer.element(N.ebene, header.scope.level)
        try writer.end()
        try writer.start(N.filter)
        if let themenfeld = header.themenfeld { try writer.element(N.themenfeld, themenfeld) }
        try writer.element(N.nurKommunal, header.municipalOnly)
        for status in header.statuses ?? [] { try writer.element(N.status, status) }
        try writer.end()
        try writer.element(N.herkunftEnthalten, header.provenance)
        try writer.element(N.berichtseinheiten, header.units)
        try writer.element(N.leistungen, header.services)
        try writer.element(N.zaehlweise, header.counting)
        try writer.end()
    }

    private func edition(_ name: StaticString, _ edition: Edition) throws {
        try writer.start(name)
        try writer.element(N.ausgabe, edition.name)
        try writer.element(N.stand, edition.date)
        try writer.element(N.quelle, edition.source)
        try writer.element(N.lizenz, edition.licence)
        try writer.end()
    }

    func entry(_ row: ReportRow) throws {
        try writer.start(N.eintrag)
        try writer.start(N.region)
        try writer.element(N.regionalschluessel, token: row.region.key.description)
        try writer.element(N.name, row.region.name)
        try writer.element(N.ebene, token: row.region.level.rawValue)
        try writer.element(N.berichtseinheit, row.isReportingUnit)
        try writer.end()
        try writer.start(N.leistung)
        try writer.element(N.ozgId, token: row.service.id.description)
        try writer.element(N.bezeichnung, row.service.name)
        try writer.element(N.themenfeld, row.service.themenfeld)
        try writer.end()
        if let record = row.record { try implementation(record) }
        try writer.element(N.onlineEinschliesslichHoehererEbene, row.isOnlineIncludingHigherLevel)
        if let via = row.via { try writer.element(N.bereitgestelltDurch, token: via.description) }
        try writer.end()
    }

    private func implementation(_ record: StoredRecord) throws {
        let values = record.values
        try writer.start(N.umsetzung)
        try writer.element(N.status, token: values.status.rawValue)
        if let level = values.maturity {
            try writer.start(N.reifegrad)
            try writer.attribute(N.modell, (values.maturityModel ?? .v1).rawValue)
            try writer.text(String(level))
            try writer.end()
        }
        if let planned = values.planned { try writer.element(N.geplantZum, token: planned.description) }
        if let since = values.onlineSince { try writer.element(N.onlineSeit, token: since.description) }
        if let url = values.url { try writer.element(N.url, url) }
        if let solution = values.solution { try writer.element(N.loesung, solution) }
        if let note = values.note { try writer.element(N.notiz, note) }
        if provenance {
            try writer.element(N.aktualisiertAm, token: Timestamp.string(record.updatedAt))
            try writer.element(N.aktualisiertVon, record.updatedBy)
            try writer.element(N.quelle, record.source)
        }
        try writer.end()
    }

    func summary(_ summary: ReportSummary) throws {
        try writer.start(N.auswertung)
        try writer.start(N.gesamt)
        try counts(summary.overall)
        try writer.end()
        for field in summary.themenfelder {
            try writer.start(N.themenfeld)
            try writer.attribute(N.nummer, field.number)
            try writer.attribute(N.name, field.name)
            try counts(field.counts)
            try writer.end()
        }
        try writer.start(N.reifegradverteilung)
        for bucket in summary.maturity {
            try writer.start(N.stufe)
            try writer.attribute(N.modell, bucket.model)
            try writer.attribute(N.wert, bucket.level)
            try writer.attribute(N.anzahl, bucket.count)
            try writer.end()
        }
        try writer.end()
        try writer.start(N.abdeckung)
        for service in summary.services {
            try writer.start(N.leistung)
            try writer.attribute(N.ozgId, service.ozgID)
            try writer.attribute(N.bezeichnung, service.name)
            try writer.attribute(N.themenfeld, service.themenfeld)
            try writer.attribute(N.einheiten, service.units)
            try writer.attribute(N.relevanteEinheiten, service.relevantUnits)
            try coverage(N.eigene, service.onlineOwn, service.shareOwn, service.classOwn)
            try coverage(N.einschliesslichHoehererEbene, service.onlineIncludingHigherLevel, service.shareIncludingHigherLevel, service.classIncludingHigherLevel)
            try writer.end()
        }
        try writer.end()
        try writer.element(N.nichtZugeordneteEintraege, summary.orphanedRecords)
        try writer.element(N.eintraegeHoehererEbenen, summary.higherLevelRows)
        try writer.end()
    }

    private func coverage(_ name: StaticString, _ count: Int, _ share: Double, _ klasse: CoverageClass) throws {
        try writer.start(name)
        try writer.attribute(N.anzahl, count)
        try writer.attribute(N.anteil, Self.decimal(share))
        try writer.attribute(N.klasse, klasse.rawValue)
        try writer.end()
    }

    private func counts(_ counts: ServiceCounts) throws {
        try writer.element(N.leistungen, counts.services)
        try writer.element(N.erfasst, counts.tracked)
        try writer.element(N.nichtBegonnen, counts.count(.notStarted))
        try writer.element(N.geplant, counts.count(.planned))
        try writer.element(N.inUmsetzung, counts.count(.inProgress))
        try writer.element(N.online, counts.count(.online))
        try writer.element(N.nichtZustaendig, counts.count(.notApplicable))
        try writer.element(N.relevant, counts.relevant)
        try share(N.onlineEigene, counts.online, counts.shareOnline)
        try share(N.onlineEinschliesslichHoehererEbene, counts.onlineIncludingHigherLevel, counts.shareOnlineIncludingHigherLevel)
        try share(N.reifegradMindestens3, counts.maturityAtLeast3, counts.shareMaturityAtLeast3)
        try writer.element(N.reifegradModell2, counts.maturityModel2)
    }

    private func share(_ name: StaticString, _ count: Int, _ percent: Double) throws {
        try writer.start(name)
        try writer.attribute(N.anteil, Self.decimal(percent))
        try writer.text(String(count))
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
