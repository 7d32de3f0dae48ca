import Logging
import PostgresNIO

/// One step of the schema: applied once, in order, in the transaction that records it.
struct PostgresMigration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}

/// What ``PostgresStore/migrate()`` did.
public struct PostgresMigrationReport: Sendable, Equatable {
    /// The schema version before and after.
    public var from: Int
    public var to: Int
    /// The names of the migrations this call applied, in order (empty: the database was current).
    public var applied: [String]

    public init(from: Int, to: Int, applied: [String]) {
        self.from = from
        self.to = to
        self.applied = applied
    }
}

extension PostgresStore {
    /// The highest schema version this build knows.
    public static var schemaVersion: Int { PostgresSchema.migrations.last?.version ?? 0 }

    /// Brings the database's schema to this build's version. Every missing migration runs in one transaction with
    /// the record of it, under an advisory lock, so nodes that start together apply each migration once and a crash
    /// leaves the schema as it was. A database migrated by a newer build is refused, and left as it is.
    @discardableResult
    public func migrate() async throws -> PostgresMigrationReport {
        let location = location
        let logger = logger
        // Idempotent: a run after an unknown commit finds the migrations applied and applies nothing.
        let report = try await transaction("apply the schema migrations", idempotent: true) { connection in
            // Bounded: a node waiting behind another's migration, or a DDL lock behind live nodes, gives up.
            try await connection.query("SET LOCAL lock_timeout = '60s'", logger: logger)
            try await connection.query("SET LOCAL statement_timeout = '600s'", logger: logger)
            // Serializes concurrent migrations (the key is arbitrary, fixed: "shopflor" in ASCII).
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS shopfloor_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            let found = try await Self.version(connection, logger: logger)
            guard found <= Self.schemaVersion else {
                throw PostgresStoreError.newerSchema(location, found: found, known: Self.schemaVersion)
            }
            var applied: [String] = []
            for migration in PostgresSchema.migrations where migration.version > found {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO shopfloor_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
                applied.append(migration.name)
            }
            return PostgresMigrationReport(from: found, to: max(found, Self.schemaVersion), applied: applied)
        }
        if !report.applied.isEmpty {
            logger.info(
                "schema migrated",
                metadata: [
                    "database": "\(location)", "from": "\(report.from)", "to": "\(report.to)",
                    "applied": "\(report.applied.joined(separator: ", "))",
                ])
        }
        return report
    }

    /// The schema version the database holds (0: none yet).
    public func currentSchemaVersion() async throws -> Int {
        let logger = logger
        return try await transaction("read the schema version", idempotent: true) { connection in
            let exists =
                try await connection.query(
                    "SELECT to_regclass('shopfloor_migrations') IS NOT NULL", logger: logger
                ).collect().first?.decode(Bool.self) ?? false
            return exists ? try await Self.version(connection, logger: logger) : 0
        }
    }

    static let migrationLockKey: Int64 = 0x7368_6f70_666c_6f72

    static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT COALESCE(MAX(version), 0) FROM shopfloor_migrations", logger: logger)
            .collect().first?.decode(Int.self) ?? 0
    }
}
