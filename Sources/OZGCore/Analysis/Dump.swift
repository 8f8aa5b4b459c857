public import Foundation

/// The current state as canonical CSV in the import format.
///
/// Rows sorted by region then OZG-ID, columns as ``CSVRecordSource/columns``, cells as ``CSVFormat/canonical``
/// writes them (LF line ends, RFC 4180 quoting, values as stored, no formula protection), empty cells for values
/// not recorded. Importing a dump into an empty database and dumping again gives the
/// same bytes, so a dump can live in git and be reviewed as a diff.
public enum Dump {
    /// Writes the dump of `scope` (at `asOf`, now when `nil`) to `sink`; returns the number of records.
    @discardableResult
    public static func write(
        store: any TrackingStore, scope: RegionScope, asOf: Date? = nil, to sink: any OutputSink
    ) throws -> Int {
        try sink.write(CSVFormat.canonical.line(CSVRecordSource.columns))
        var count = 0
        try store.read { reader in
            try reader.forEachRecord(prefix: scope.prefix, asOf: asOf) { record in
                guard scope.contains(record.key.region) else { return true }
                var fields = [record.key.region.description, record.key.service.description]
                for field in RecordField.allCases { fields.append(record.values.text(field) ?? "") }
                try sink.write(CSVFormat.canonical.line(fields))
                count += 1
                return true
            }
        }
        return count
    }
}
