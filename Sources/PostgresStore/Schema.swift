import OZGCore
import PostgresNIO

/// The store's tables inside their own PostgreSQL schema, and the migrations that create and upgrade them.
///
/// `schema_version` holds one row per applied migration. Migrations run in one transaction under an advisory
/// lock on the schema's name, so two `ozgtrack init` at once do not trip over each other, and running them again
/// changes nothing. A schema whose newest migration is one this version of ozgtrack does not know was written by
/// a newer ozgtrack: it is refused, never misread.
enum Schema {
    /// The newest schema version this ozgtrack writes.
    static let version = 3

    /// The statements of each version, in order (`S` stands for the quoted schema name).
    static let migrations: [Int: [String]] = [
        1: [
            """
            CREATE TABLE S.batch (
                id bigint PRIMARY KEY,
                at bigint NOT NULL,          -- milliseconds since 1970, UTC; never decreasing with the id
                actor text NOT NULL,
                source text NOT NULL,
                command text NOT NULL
            )
            """,
            "CREATE INDEX batch_at ON S.batch (at)",
            """
            CREATE TABLE S.record_version (
                region bigint NOT NULL,      -- PackedRegionKey: digits padded to 9, times 16, plus the key's length
                ozg_id integer NOT NULL,
                batch bigint NOT NULL,       -- S.batch (id); no foreign key, whose check would run for each of
                                             -- millions of rows: only ozgtrack writes here, batch first
                status smallint NOT NULL,    -- 0 not_started, 1 planned, 2 in_progress, 3 online, 4 not_applicable
                maturity smallint,
                maturity_model smallint,
                planned integer,             -- YYYYMMDD
                online_since integer,        -- YYYYMMDD
                url text,
                solution text,
                note text,
                PRIMARY KEY (region, ozg_id, batch)
            )
            """,
            // Records of units above the Gemeinde level (key length other than 8), which count for the Gemeinden
            // below them.
            "CREATE INDEX record_version_higher_level ON S.record_version (region, ozg_id, batch) WHERE region % 16 <> 8",
        ],
        // The service's access tokens, beside the records, so that every instance sharing the store shares them
        // (the same table as SQLite's `v2-access-tokens`).
        2: [
            """
            CREATE TABLE S.access_token (
                name text PRIMARY KEY,
                scope text,                  -- a region key; NULL for the whole country
                role text NOT NULL,          -- read, write or admin
                hash bytea NOT NULL UNIQUE,  -- SHA-256 of the secret; the secret is never stored
                created_at bigint NOT NULL   -- milliseconds since 1970, UTC
            )
            """
        ],
        // `record_version.batch` as `integer` (it was `bigint`): the key index's entries shrink from 32 to 24 bytes
        // (the 8-byte `batch` after the 4-byte `ozg_id` needed 4 bytes of padding) and each row by 8 bytes. On the
        // national import the key index built after the load went from 232 MB to 180 MB and its build from 4.0–4.4 s
        // to 3.1–3.8 s (psql probes on the same rows, load about 3–4; docs/performance.md, "Import into an empty
        // store, session 5"). Batch ids count the store's writes from 1: 2,147,483,647 of them is no limit a store
        // reaches. The rewrite of a filled table happens once, in `ozgtrack init` (or the first write) of this version.
        3: [
            "ALTER TABLE S.record_version ALTER COLUMN batch TYPE integer"
        ],
    ]

    /// `schema` quoted for SQL (it is a checked plain name; quoting keeps it exact).
    static func quoted(_ schema: String) -> String { "\"\(schema)\"" }

    /// The statement with the schema filled in.
    static func sql(_ statement: String, schema: String) -> String {
        statement.replacingOccurrences(of: "S.", with: quoted(schema) + ".")
    }

    /// The advisory lock key of a store (its schema in this database): taken by every write transaction and by
    /// migrations, it puts writers one after another.
    static func lockKey(_ schema: String) -> String { "hashtextextended('ozgtrack-store:' || '\(schema)', 0)" }

    /// What the database holds in the schema.
    enum State: Equatable {
        /// No such schema, or an empty one.
        case missing
        /// An ozgtrack store at this version.
        case version(Int)
        /// A schema with tables but no ozgtrack version table.
        case foreign
    }

    /// Looks at the schema (inside the caller's transaction).
    static func state(_ session: Session, schema: String) throws -> State {
        var binds = PostgresBindings()
        binds.append(schema)
        let tables = try session.rows(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                + "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v')", binds
        ) { row in Cell.text(row.makeRandomAccess()[0]) ?? "" }
        if tables.isEmpty { return .missing }
        guard tables.contains("schema_version") else { return .foreign }
        let versions = try session.rows("SELECT coalesce(max(version), 0)::bigint FROM \(quoted(schema)).schema_version") { row in
            Cell.int(row.makeRandomAccess()[0]) ?? 0
        }
        return .version(versions.first ?? 0)
    }

    /// Creates or upgrades the schema, in one transaction. Returns whether anything was done.
    static func migrate(_ session: Session, schema: String) throws -> Bool {
        let configuration = session.configuration
        try session.execute("BEGIN")
        do {
            try session.execute("SET LOCAL lock_timeout = '120s'")
            try session.execute("SELECT pg_advisory_xact_lock(\(lockKey(schema)))")
            let state = try state(session, schema: schema)
            var current = 0
            switch state {
            case .foreign:
                throw StoreError(
                    "\(configuration): the schema '\(schema)' holds other tables and no ozgtrack store: refusing to change it "
                        + "(name another schema with ?schema=NAME)")
            case .version(let version):
                if version > Self.version {
                    throw StoreError(newerMessage(configuration, version: version, action: "change"))
                }
                current = version
            case .missing:
                current = 0
            }
            if current == Self.version {
                try session.execute("ROLLBACK")
                return false
            }
            try session.execute("CREATE SCHEMA IF NOT EXISTS \(quoted(schema))")
            if current == 0 {
                try session.execute(
                    "CREATE TABLE IF NOT EXISTS \(quoted(schema)).schema_version "
                        + "(version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), ozgtrack text NOT NULL)")
            }
            for version in (current + 1)...Self.version {
                for statement in migrations[version] ?? [] {
                    try session.execute(sql(statement, schema: schema))
                }
                var binds = PostgresBindings()
                binds.append(version)
                binds.append(Generator.version)
                try session.execute("INSERT INTO \(quoted(schema)).schema_version (version, ozgtrack) VALUES ($1, $2)", binds)
            }
            try session.execute("COMMIT")
            return true
        } catch {
            try? session.execute("ROLLBACK")
            throw error
        }
    }

    static func newerMessage(_ configuration: PostgresConfiguration, version: Int, action: String) -> String {
        "\(configuration) was written by a newer version of ozgtrack (schema version \(version), this one knows up to "
            + "\(Self.version)): update ozgtrack to \(action) it"
    }
}
