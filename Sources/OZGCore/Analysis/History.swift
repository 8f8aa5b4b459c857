public import Foundation

/// History and net differences.
public enum History {
    /// Every change of `region`'s records (one service when given) since `since`, oldest first.
    public static func changes(
        store: any TrackingStore, region: RegionKey, service: OZGID?, since: Date?
    ) throws -> [RecordChange] {
        var changes: [RecordChange] = []
        try store.read { reader in
            try reader.forEachChange(prefix: region.description, exact: true, service: service, from: since, to: nil) {
                changes.append($0)
            }
        }
        return changes.sorted { ($0.at, $0.key) < ($1.at, $1.key) }
    }

    /// A record whose values at the end of a period differ from those at its start.
    public struct Difference: Sendable, Hashable {
        public var key: RecordKey
        /// The values at the start (`nil`: the record did not exist).
        public var old: RecordValues?
        public var new: RecordValues
        /// How many changes happened in between.
        public var changes: Int
        /// The last change: when, who, from where.
        public var at: Date
        public var actor: String
        public var source: String

        /// The fields that differ.
        public var fields: [RecordField] { new.changedFields(from: old) }
    }

    /// The records within `scope` whose state at the end of `until` differs from their state just before
    /// `since`, in key order. A value changed and changed back within the period is no difference.
    public static func differences(
        store: any TrackingStore, scope: RegionScope, since: Date, until: Date?, _ body: (Difference) throws -> Void
    ) throws {
        try store.read { reader in
            var pending: Difference?
            func flush() throws {
                if let done = pending, done.old != done.new { try body(done) }
                pending = nil
            }
            try reader.forEachChange(prefix: scope.prefix, exact: false, service: nil, from: since, to: until) { change in
                guard scope.contains(change.key.region) else { return }
                if var current = pending, current.key == change.key {
                    current.new = change.new
                    current.changes += 1
                    current.at = change.at
                    current.actor = change.actor
                    current.source = change.source
                    pending = current
                } else {
                    try flush()
                    pending = Difference(
                        key: change.key, old: change.old, new: change.new, changes: 1, at: change.at, actor: change.actor,
                        source: change.source)
                }
            }
            try flush()
        }
    }
}
