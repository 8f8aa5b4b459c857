/// One validated row of an import: which record, what to change, and where it came from.
public struct ImportRow: Sendable, Hashable {
    /// The file, as named by the user.
    public var file: String
    /// The line where the row starts.
    public var line: Int
    public var key: RecordKey
    public var update: RecordUpdate

    public init(file: String, line: Int, key: RecordKey, update: RecordUpdate) {
        self.file = file
        self.line = line
        self.key = key
        self.update = update
    }
}

/// Reads import rows from one input.
///
/// Sources report a bad row as a failure and go on, so that every bad row of a file is reported at once; a
/// problem with the file as a whole (unreadable, wrong encoding, no header, a syntax error after which the next
/// record cannot be found) is thrown. Which is which is decided on the error's ``InputError/kind``.
public protocol RecordSource {
    /// The file name used in messages.
    var file: String { get }
    /// Calls `body` with every row or row error, in input order.
    func forEachRow(_ body: (Result<ImportRow, InputError>) throws -> Void) throws
}
