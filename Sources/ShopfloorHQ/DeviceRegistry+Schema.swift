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
        return migrator
    }
}
