// A bulk load into an empty store, encoded in the backend's own format on the import's reading thread.
//
// Measured: in `perf record` of a national PostgreSQL import into an empty store (5,988,307 rows), the writing
// thread needed ≈ 1.7–1.9 s of CPU just to take each row's values over from the reading thread and encode them as
// COPY text (retains and releases of texts made on the other core, the versions' copies, the store's buffer),
// beside ≈ 2.4–2.5 s of the reading thread. Encoded where the values are made, the rows never cross threads:
// the writing thread only hands full pages on (docs/performance.md, "The import's client, session 6").

/// A page of rows in a backend's own format, made by a ``BulkRowEncoder``.
package protocol EncodedRows: Sendable {}

/// Encodes the new versions of one bulk load, in order, into pages (used by one thread at a time).
package protocol BulkRowEncoder: AnyObject {
    /// Adds the first version of `key`; returns a page and its number of rows when one is full.
    func append(_ key: RecordKey, _ values: borrowing RecordValues) -> (page: any EncodedRows, rows: Int)?
    /// The last page, `nil` when it holds no row.
    func finish() -> (page: any EncodedRows, rows: Int)?
}

/// A backend writer that can take the versions of a bulk load into an empty store as pages it encodes itself.
package protocol BulkEncodingBackend: BackendWriter {
    /// An encoder for versions of batch `batch`.
    func bulkEncoder(batch: Int) -> any BulkRowEncoder
    /// Appends a page of `rows` versions made by an encoder of this writer, after everything appended before.
    func append(encoded page: any EncodedRows, rows: Int) throws
}

/// A store writer whose backend takes encoded pages (``StoreWriter`` over a ``BulkEncodingBackend``).
protocol BulkLoadingWriter: AnyObject {
    /// Whether the backend takes encoded pages.
    var encodesBulkLoads: Bool { get }
    /// Opens the write's batch (as the first ``TrackingWriter/put(_:_:current:)`` would) and returns an encoder for
    /// its versions.
    func openBulkEncoder() throws -> any BulkRowEncoder
    /// Appends a page made by the encoder of ``openBulkEncoder()``.
    func append(encoded page: any EncodedRows, rows: Int) throws
}

extension StoreWriter: BulkLoadingWriter {
    var encodesBulkLoads: Bool { backend is any BulkEncodingBackend }

    func openBulkEncoder() throws -> any BulkRowEncoder {
        try bulkBackend().bulkEncoder(batch: try openBatch())
    }

    func append(encoded page: any EncodedRows, rows: Int) throws {
        let backend = try bulkBackend()
        try flush()
        try backend.append(encoded: page, rows: rows)
    }

    private func bulkBackend() throws -> any BulkEncodingBackend {
        guard let backend = backend as? any BulkEncodingBackend else {
            throw StoreError("this store takes no encoded bulk loads")
        }
        return backend
    }
}
