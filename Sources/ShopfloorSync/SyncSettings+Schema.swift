import GRDB
import ShopfloorStore

extension SyncSettings {
    /// The sync client's own table in the device's file. `IF NOT EXISTS`: files made before the client owned it
    /// already have it from the replica's first migration.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("sync-v1-state") { db in
            try db.execute(
                sql: """
                    -- Device side: HQ address, credentials and progress.
                    CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)
                        WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}
