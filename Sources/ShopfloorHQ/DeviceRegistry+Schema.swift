import Crypto
import GRDB
import ShopfloorStore

extension DeviceRegistry {
    /// HQ's own tables in its file: enrolled devices and the boundary refusals an operator reviews. `IF NOT
    /// EXISTS`: files made before HQ owned them already have them from the replica's early migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("hq-v1-devices") { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS devices (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        secret_hash TEXT NOT NULL,
                        salt TEXT NOT NULL,
                        replica TEXT UNIQUE,
                        created TEXT NOT NULL,
                        revoked TEXT,
                        last_contact TEXT,
                        acknowledged TEXT NOT NULL DEFAULT '{}',
                        pushed INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID;
                    -- Rule 8: the same operation id with different content, refused at HQ's boundary and kept
                    -- so an operator sees it.
                    CREATE TABLE IF NOT EXISTS boundary_refusals (
                        operation TEXT NOT NULL,
                        device TEXT NOT NULL,
                        code TEXT NOT NULL,
                        message TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        at TEXT NOT NULL,
                        PRIMARY KEY (operation, device, payload)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("hq-v2-refusal-fingerprints") { db in
            // A refused push keeps a fingerprint of its content, not the content (issue 12: 50 refused pushes of
            // 1 MiB grew HQ by 50 MB): the SHA-256 of the offered payload, and one row per operation, device and
            // fingerprint with how often it came back.
            try db.execute(
                sql: """
                    CREATE TABLE boundary_refusals_v2 (
                        operation TEXT NOT NULL,
                        device TEXT NOT NULL,
                        code TEXT NOT NULL,
                        message TEXT NOT NULL,
                        fingerprint TEXT NOT NULL,
                        at TEXT NOT NULL,
                        count INTEGER NOT NULL DEFAULT 1,
                        PRIMARY KEY (operation, device, fingerprint)
                    ) WITHOUT ROWID;
                    """)
            let rows = try Row.fetchAll(
                db, sql: "SELECT operation, device, code, message, payload, at FROM boundary_refusals")
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO boundary_refusals_v2 (operation, device, code, message, fingerprint, at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        row["operation"], row["device"], row["code"],
                        String((row["message"] as String).prefix(Self.refusalMessageMax)),
                        Self.fingerprint(row["payload"]), row["at"],
                    ])
            }
            try db.execute(
                sql: """
                    DROP TABLE boundary_refusals;
                    ALTER TABLE boundary_refusals_v2 RENAME TO boundary_refusals;
                    CREATE INDEX boundary_refusals_at ON boundary_refusals (at, operation);
                    """)
        }
        return migrator
    }

    /// A refusal's message is kept to this many characters.
    static let refusalMessageMax = 500
    /// At most this many boundary refusals are kept; the oldest go first.
    static let refusalsMax = 1_000

    /// What HQ keeps of refused content: its SHA-256, in hex.
    static func fingerprint(_ payload: String) -> String {
        SHA256.hash(data: Array(payload.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
