import Foundation

/// Copies a whole store — every batch with its time, actor, source and command, and every version — into an
/// empty store of any backend (`ozgtrack db copy FROM TO`): afterwards `dump` and `history` of both are equal.
public enum StoreCopy {
    /// What was copied.
    public struct Summary: Sendable, Hashable, Encodable {
        /// Batches (writes) copied.
        public var batches = 0
        /// Versions (states of records, history included) copied.
        public var versions = 0
    }

    /// Versions sent to the target at once.
    static let bulkSize = 4_096

    /// Copies `source` into `target`, which must hold nothing yet, in one write transaction of the target: all
    /// or nothing. The source is read in one snapshot; versions stream through in bounded memory.
    /// - Throws: ``StoreError`` when the target is not empty, or either database fails.
    public static func run<Source: StoreBackend, Target: StoreBackend>(from source: Source, to target: Target) throws -> Summary {
        try source.read { reader in
            let batches = try reader.batches()
            return try target.write { writer in
                if try writer.latestBatch() != nil || writer.hasVersions() {
                    throw StoreError("the target already holds records: copy only into a new, empty store (ozgtrack init)")
                }
                var summary = Summary()
                // Ids are given by the target; they keep the source's order, so versions stay in stream order.
                var ids: [Int: Int] = [:]
                for batch in batches {
                    ids[batch.id] = try writer.appendBatch(
                        NewBatch(at: batch.at, actor: batch.actor, source: batch.source, command: batch.command))
                    summary.batches += 1
                }
                let stream = try reader.versions(VersionSelection(regions: .all))
                var chunk: [StoredVersion] = []
                chunk.reserveCapacity(bulkSize)
                while var version = try stream.next() {
                    guard let id = ids[version.batch] else {
                        throw StoreError(
                            "the source holds a version of \(version.key) from batch \(version.batch), which it does not "
                                + "record: it may be damaged; nothing was copied")
                    }
                    version.batch = id
                    chunk.append(version)
                    if chunk.count >= bulkSize {
                        try writer.append(chunk)
                        summary.versions += chunk.count
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                if !chunk.isEmpty {
                    try writer.append(chunk)
                    summary.versions += chunk.count
                }
                return summary
            }
        }
    }
}
