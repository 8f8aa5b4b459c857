internal import CLibXLSXWriter
import Foundation
import OZGCore

/// NUL-terminated encodings per position (a region's key and name, a service's name), made once each: the same
/// names repeat on hundreds of thousands of rows.
struct CStringCache {
    private var values: [[CChar]?]

    init(count: Int) { values = [[CChar]?](repeating: nil, count: count) }

    mutating func value(_ index: Int, _ make: () -> String) -> [CChar] {
        if let known = values[index] { return known }
        let encoded = Array(XLSXSheet.cellText(make()).utf8CString)
        values[index] = encoded
        return encoded
    }
}

extension XLSXReportWriter {
    /// The Daten columns: the CSV report's columns, labelled in German (the CSV name in brackets in the docs).
    static func dataColumns(provenance: Bool) -> [(label: String, width: Double)] {
        [
            ("Schlüssel (AGS/ARS)", 14), ("Name", 30), ("Ebene", 11), ("Berichtseinheit", 10), ("OZG-ID", 8),
            ("Leistung", 45), ("Themenfeld", 8), ("Status", 14), ("Status (deutsch)", 15), ("Reifegrad", 9),
            ("Reifegradmodell", 9), ("geplant", 11), ("online seit", 11), ("URL", 40), ("Lösung", 25), ("Notiz", 40),
            ("online (eigene)", 10), ("online (einschl. höherer Ebene)", 12), ("über", 12),
        ] + (provenance ? [("geändert am", 19), ("geändert von", 16), ("Quelle", 20)] : [])
    }

    /// Starts a Daten sheet: header row, widths, frozen header.
    private func startDataSheet(number: Int) throws(XLSXError) -> XLSXSheet {
        let name = number == 1 ? Self.dataName : "\(Self.dataName) \(number)"
        let sheet = try workbook.addSheet(name)
        let columns = Self.dataColumns(provenance: report.query.provenance)
        for (index, column) in columns.enumerated() {
            try sheet.text(0, index, column.label, formats.header)
            sheet.column(index, width: column.width, format: nil)
        }
        sheet.freeze(rows: 1)
        return sheet
    }

    private func finishDataSheet(_ sheet: XLSXSheet, rows: Int, unlinked: Int) {
        sheet.autofilter(firstRow: 0, lastRow: rows, columns: Self.dataColumns(provenance: report.query.provenance).count)
        dataSheets.append((sheet.name, rows, unlinked))
    }

    /// The rows of the report, one pass, into Daten, Daten 2, …; counts the reporting units' figures on the way.
    func writeRows() throws {
        let provenance = report.query.provenance
        let rows = report.rows()
        // Rows the status filter leaves out come too: they count in the units' figures, but are not listed.
        rows.includesUnlisted = report.query.statuses != nil
        regionList = rows.regionList
        let serviceList = rows.serviceList
        unitCounts = [ServiceCounts?](repeating: nil, count: regionList.count)
        var keys = CStringCache(count: regionList.count)
        var names = CStringCache(count: regionList.count)
        var serviceIDs = CStringCache(count: serviceList.count)
        var serviceNames = CStringCache(count: serviceList.count)
        let levels = RegionLevel.allCases.map { Array($0.rawValue.utf8CString) }
        let statusCodes = Status.allCases.sorted { $0.code < $1.code }.map { Array($0.rawValue.utf8CString) }
        let statusGerman = Status.allCases.sorted { $0.code < $1.code }.map { Array($0.german.utf8CString) }
        let untracked = Array("untracked".utf8CString)
        let untrackedGerman = Array("nicht erfasst".utf8CString)
        let lastRowOnSheet = rowsPerSheet - 1
        var sheetNumber = 1
        var sheet = try startDataSheet(number: sheetNumber)
        var row = 0
        var links = 0  // in the whole workbook
        var unlinked = 0
        var lastUpdate: (Date, Double)?
        let date = formats.date
        let dateTime = formats.dateTime
        let link = formats.link
        // The figures of the reporting unit whose rows are passing (a unit's rows come together).
        var unit = (position: -1, counts: ServiceCounts())
        while let view = rows.nextView() {
            if view.isReportingUnit {
                if view.region != unit.position {
                    if unit.position >= 0 { unitCounts[unit.position] = unit.counts }
                    unit = (view.region, ServiceCounts())
                }
                unit.counts.add(view.values, viaHigherLevel: view.via != nil)
            }
            guard view.isListed else { continue }
            if row == lastRowOnSheet {
                finishDataSheet(sheet, rows: row, unlinked: unlinked)
                sheetNumber += 1
                sheet = try startDataSheet(number: sheetNumber)
                row = 0
                unlinked = 0
            }
            row += 1
            let region = regionList[view.region]
            try sheet.text(row, 0, encoded: keys.value(view.region) { region.key.description })
            try sheet.text(row, 1, encoded: names.value(view.region) { region.name })
            try sheet.text(row, 2, encoded: levels[RegionLevel.allCases.firstIndex(of: region.level) ?? 0])
            try sheet.boolean(row, 3, view.isReportingUnit)
            let service = serviceList[view.service]
            try sheet.text(row, 4, encoded: serviceIDs.value(view.service) { service.id.description })
            try sheet.text(row, 5, encoded: serviceNames.value(view.service) { service.name })
            try sheet.number(row, 6, Double(service.themenfeld))
            if let values = view.values {
                try sheet.text(row, 7, encoded: statusCodes[values.status.code])
                try sheet.text(row, 8, encoded: statusGerman[values.status.code])
                if let maturity = values.maturity { try sheet.number(row, 9, Double(maturity)) }
                if let model = values.maturityModel { try sheet.number(row, 10, Double(model.rawValue)) }
                if let planned = values.planned { try sheet.number(row, 11, ExcelDate.serial(planned), date) }
                if let since = values.onlineSince { try sheet.number(row, 12, ExcelDate.serial(since), date) }
                if let url = values.url {
                    var linked = false
                    if links < linkLimit, url.utf8.count <= XLSXSheet.maximumURLLength,
                        url.hasPrefix("https://") || url.hasPrefix("http://")
                    {
                        linked = try sheet.link(row, 13, url, link)
                        if linked { links += 1 }
                    }
                    if !linked {
                        unlinked += 1
                        try sheet.text(row, 13, url)
                    }
                }
                if let solution = values.solution { try sheet.text(row, 14, solution) }
                if let note = values.note { try sheet.text(row, 15, note) }
            } else {
                try sheet.text(row, 7, encoded: untracked)
                try sheet.text(row, 8, encoded: untrackedGerman)
            }
            try sheet.boolean(row, 16, view.isOnline)
            try sheet.boolean(row, 17, view.isOnlineIncludingHigherLevel)
            if let via = view.via { try sheet.text(row, 18, via.description) }
            if provenance, let updatedAt = view.updatedAt {
                let serial: Double
                if let last = lastUpdate, last.0 == updatedAt {
                    serial = last.1
                } else {
                    serial = ExcelDate.serial(updatedAt)
                    lastUpdate = (updatedAt, serial)
                }
                try sheet.number(row, 19, serial, dateTime)
                if let by = view.updatedBy { try sheet.text(row, 20, by) }
                if let source = view.source { try sheet.text(row, 21, source) }
            }
        }
        if unit.position >= 0 { unitCounts[unit.position] = unit.counts }
        finishDataSheet(sheet, rows: row, unlinked: unlinked)
    }
}
