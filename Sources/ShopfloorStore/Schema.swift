import GRDB

/// The replica's tables. Migrations are append-only: a database made by an earlier version opens in later ones.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;

                    -- The source of truth. Immutable rows.
                    CREATE TABLE ops (
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        lamport INTEGER NOT NULL,
                        context TEXT NOT NULL,
                        timestamp TEXT NOT NULL,
                        date TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        schema INTEGER NOT NULL,
                        arrival INTEGER NOT NULL,
                        PRIMARY KEY (replica, counter)
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX ops_canonical ON ops (lamport, replica, counter);
                    CREATE UNIQUE INDEX ops_arrival ON ops (arrival);
                    CREATE TRIGGER ops_immutable BEFORE UPDATE ON ops
                        BEGIN SELECT RAISE(ABORT, 'operations are immutable'); END;

                    -- What this replica holds: replica -> highest contiguous counter.
                    CREATE TABLE version_vector (replica TEXT PRIMARY KEY NOT NULL, counter INTEGER NOT NULL)
                        WITHOUT ROWID;

                    -- Projections: the fold of ops in canonical order.
                    CREATE TABLE items (
                        sku TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL, name TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE locations (code TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL) WITHOUT ROWID;
                    CREATE TABLE bom_lines (
                        parent TEXT NOT NULL REFERENCES items (sku),
                        child TEXT NOT NULL REFERENCES items (sku),
                        quantity TEXT NOT NULL,
                        PRIMARY KEY (parent, child)
                    ) WITHOUT ROWID;
                    CREATE TABLE orders (
                        number TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        location TEXT NOT NULL REFERENCES locations (code),
                        status TEXT NOT NULL,
                        due TEXT,
                        document TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX orders_status ON orders (status);
                    CREATE TABLE receipts (
                        id TEXT PRIMARY KEY NOT NULL,
                        order_number TEXT NOT NULL REFERENCES orders (number),
                        date TEXT NOT NULL,
                        voided INTEGER NOT NULL,
                        lines TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE ledger (
                        lamport INTEGER NOT NULL,
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        sku TEXT NOT NULL,
                        location TEXT NOT NULL,
                        event TEXT NOT NULL,
                        quantity TEXT NOT NULL,
                        unit_cost TEXT,
                        value TEXT,
                        relieved TEXT NOT NULL,
                        ref TEXT,
                        date TEXT NOT NULL,
                        PRIMARY KEY (lamport, replica, counter, idx)
                    ) WITHOUT ROWID;
                    CREATE INDEX ledger_ref ON ledger (ref);
                    CREATE INDEX ledger_sku ON ledger (sku, location);
                    CREATE TABLE valuations (
                        sku TEXT NOT NULL, location TEXT NOT NULL,
                        quantity TEXT NOT NULL, value TEXT NOT NULL, last_rate TEXT NOT NULL,
                        PRIMARY KEY (sku, location)
                    ) WITHOUT ROWID;
                    CREATE TABLE positions (
                        sku TEXT NOT NULL, location TEXT NOT NULL,
                        on_hand TEXT NOT NULL, on_order TEXT NOT NULL, demand TEXT NOT NULL,
                        allocated TEXT NOT NULL, value TEXT NOT NULL,
                        PRIMARY KEY (sku, location)
                    ) WITHOUT ROWID;
                    -- Sync bookkeeping (HQ's devices, a device's sync state) is owned and migrated by ShopfloorHQ and
                    -- ShopfloorSync; files made before that have the same tables from here.

                    CREATE TABLE rejections (
                        replica TEXT NOT NULL, counter INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL,
                        PRIMARY KEY (replica, counter)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-conflicts") { db in
            try db.execute(
                sql: """
                    DROP TABLE rejections;
                    -- Conflicts are data: append-only, in fold order.
                    CREATE TABLE conflicts (
                        id TEXT PRIMARY KEY NOT NULL,
                        lamport INTEGER NOT NULL,
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        operations TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        explanation TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE UNIQUE INDEX conflicts_fold_order ON conflicts (lamport, replica, counter, idx);
                    CREATE INDEX conflicts_subject ON conflicts (subject);
                    CREATE TABLE acknowledgements (
                        conflict TEXT PRIMARY KEY NOT NULL,
                        operation TEXT NOT NULL,
                        note TEXT NOT NULL,
                        date TEXT NOT NULL
                    ) WITHOUT ROWID;
                    -- The last writer of each editable field (rule 5 of the conflict rules).
                    CREATE TABLE field_writes (
                        key TEXT PRIMARY KEY NOT NULL, operation TEXT NOT NULL, value TEXT NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        // v3 created HQ's boundary_refusals, now ShopfloorHQ's own (DeviceRegistry.migrator).
        migrator.registerMigration("v3-boundary-refusals") { _ in }
        migrator.registerMigration("v4-sequence") { db in
            try db.execute(
                sql: """
                    -- HQ's sequence: the canonical order of operations HQ has. Assigned once, never changed.
                    ALTER TABLE ops ADD COLUMN seq INTEGER;
                    CREATE UNIQUE INDEX ops_seq ON ops (seq) WHERE seq IS NOT NULL;
                    DROP TRIGGER ops_immutable;
                    CREATE TRIGGER ops_immutable
                        BEFORE UPDATE OF replica, counter, lamport, context, timestamp, date, kind, payload, schema,
                            arrival ON ops
                        BEGIN SELECT RAISE(ABORT, 'operations are immutable'); END;
                    CREATE TRIGGER ops_sequenced_once BEFORE UPDATE OF seq ON ops
                        WHEN OLD.seq IS NOT NULL AND NEW.seq IS NOT OLD.seq
                        BEGIN SELECT RAISE(ABORT, 'a sequence number is assigned once'); END;
                    -- Operations folded before HQ sequenced them (a device's unsynced suffix) and the projection rows
                    -- as they were before that suffix, so the suffix can be rewound when HQ's order arrives.
                    CREATE TABLE suffix (replica TEXT NOT NULL, counter INTEGER NOT NULL, PRIMARY KEY (replica, counter))
                        WITHOUT ROWID;
                    CREATE TABLE undo (kind TEXT NOT NULL, key TEXT NOT NULL, image TEXT, PRIMARY KEY (kind, key))
                        WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v5-rivals-and-conflict-positions") { db in
            try db.execute(
                sql: """
                    -- Rule 5: the earlier writes a field write did not see (JSON, '' for none).
                    ALTER TABLE field_writes ADD COLUMN rivals TEXT NOT NULL DEFAULT '';
                    -- Where a conflict was found in the fold (folded count), so a reopened replica lists conflicts
                    -- in the same order as the live one. Filled by the re-derivation that Fold.version 5 forces.
                    ALTER TABLE conflicts ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v6-normalized-projections") { db in
            // Projections are derived data: the tables are recreated and the fold (version 6) re-derives them.
            // Amount columns have no declared type, so SQLite keeps what is written: INTEGER millionths when the
            // amount fits in 64 bits (every realistic quantity and value), decimal TEXT beyond (see StoredAmount).
            try db.execute(
                sql: """
                    DROP TABLE ledger; DROP TABLE receipts; DROP TABLE orders; DROP TABLE bom_lines;
                    DROP TABLE valuations; DROP TABLE positions; DROP TABLE undo;
                    CREATE TABLE bom_lines (
                        parent TEXT NOT NULL, child TEXT NOT NULL, quantity NOT NULL, PRIMARY KEY (parent, child)
                    ) WITHOUT ROWID;
                    CREATE TABLE orders (
                        number TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        location TEXT NOT NULL,
                        status TEXT NOT NULL,
                        due TEXT,
                        notes TEXT NOT NULL,
                        tolerance NOT NULL,
                        created_by TEXT,
                        requested_number TEXT,
                        closed_by TEXT,
                        creation_index INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX orders_status ON orders (status, number);
                    CREATE INDEX orders_requested ON orders (requested_number) WHERE requested_number IS NOT NULL;
                    CREATE INDEX orders_creation ON orders (creation_index);
                    -- Output lines; produced and on_order are what receipts and closes change.
                    CREATE TABLE order_lines (
                        order_number TEXT NOT NULL,
                        idx INTEGER NOT NULL,
                        sku TEXT NOT NULL,
                        quantity NOT NULL,
                        unit_cost,
                        produced NOT NULL,
                        on_order NOT NULL,
                        PRIMARY KEY (order_number, idx)
                    ) WITHOUT ROWID;
                    -- Each line's input snapshot taken at Enter, and what the line consumed of it so far.
                    CREATE TABLE line_inputs (
                        order_number TEXT NOT NULL,
                        line_idx INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        sku TEXT NOT NULL,
                        quantity NOT NULL,
                        consumed NOT NULL,
                        PRIMARY KEY (order_number, line_idx, idx)
                    ) WITHOUT ROWID;
                    -- The order's commitments per input SKU.
                    CREATE TABLE order_inputs (
                        order_number TEXT NOT NULL,
                        sku TEXT NOT NULL,
                        required NOT NULL,
                        demand NOT NULL,
                        allocated NOT NULL,
                        PRIMARY KEY (order_number, sku)
                    ) WITHOUT ROWID;
                    CREATE TABLE receipts (
                        id TEXT PRIMARY KEY NOT NULL,
                        order_number TEXT NOT NULL,
                        date TEXT NOT NULL,
                        voided INTEGER NOT NULL,
                        voided_by TEXT,
                        creation_index INTEGER,
                        operation TEXT,
                        requested_id TEXT
                    ) WITHOUT ROWID;
                    CREATE INDEX receipts_order ON receipts (order_number, creation_index);
                    CREATE INDEX receipts_requested ON receipts (requested_id) WHERE requested_id IS NOT NULL;
                    CREATE INDEX receipts_creation ON receipts (creation_index);
                    CREATE TABLE receipt_lines (
                        receipt_id TEXT NOT NULL, idx INTEGER NOT NULL, sku TEXT NOT NULL, quantity NOT NULL,
                        PRIMARY KEY (receipt_id, idx)
                    ) WITHOUT ROWID;
                    -- The only home of ledger entries; a receipt finds its own by the operation that wrote them (the
                    -- key's prefix, with the operation's lamport from ops), and `line` names the output line a
                    -- receipt's entry belongs to.
                    CREATE TABLE ledger (
                        lamport INTEGER NOT NULL,
                        replica TEXT NOT NULL,
                        counter INTEGER NOT NULL,
                        idx INTEGER NOT NULL,
                        sku TEXT NOT NULL,
                        location TEXT NOT NULL,
                        event TEXT NOT NULL,
                        quantity NOT NULL,
                        unit_cost,
                        value,
                        relieved NOT NULL,
                        ref TEXT,
                        date TEXT NOT NULL,
                        line TEXT,
                        PRIMARY KEY (lamport, replica, counter, idx)
                    ) WITHOUT ROWID;
                    CREATE INDEX ledger_ref ON ledger (ref);
                    CREATE INDEX ledger_sku ON ledger (sku, location);
                    CREATE TABLE valuations (
                        sku TEXT NOT NULL, location TEXT NOT NULL, quantity NOT NULL, value NOT NULL, last_rate NOT NULL,
                        PRIMARY KEY (sku, location)
                    ) WITHOUT ROWID;
                    CREATE TABLE positions (
                        sku TEXT NOT NULL, location TEXT NOT NULL, on_hand NOT NULL, on_order NOT NULL,
                        demand NOT NULL, allocated NOT NULL, value NOT NULL,
                        PRIMARY KEY (sku, location)
                    ) WITHOUT ROWID;
                    -- Before-images of the rows a device's unsynced suffix changed (kind, key): NULL when the row
                    -- did not exist. An order's image is the whole order, so a rewind restores all its rows.
                    CREATE TABLE undo (kind TEXT NOT NULL, key TEXT NOT NULL, image TEXT, PRIMARY KEY (kind, key))
                        WITHOUT ROWID;
                    CREATE INDEX conflicts_id_position ON conflicts (position, idx);
                    -- Operations HQ has not numbered yet (a device's unsynced suffix), in canonical order: found
                    -- without a scan of the log. (Queries on seq say `seq IS NOT NULL` to use ops_seq.)
                    CREATE INDEX ops_unsequenced ON ops (lamport, replica, counter) WHERE seq IS NULL;
                    """)
        }
        migrator.registerMigration("v7-ledger-refs") { db in
            // A ledger entry is one insert into one B-tree: the per-entry indexes on ref and on (sku, location)
            // made each entry three random B-tree inserts, about 40 % of a fold. An order's entries are found by
            // `ledger_refs` (one row per order and operation, not per entry); a ledger filtered by SKU alone scans
            // (README, "Ledger queries").
            try db.execute(
                sql: """
                    DROP INDEX ledger_ref;
                    DROP INDEX ledger_sku;
                    CREATE TABLE ledger_refs (
                        ref TEXT NOT NULL, lamport INTEGER NOT NULL, replica TEXT NOT NULL, counter INTEGER NOT NULL,
                        entries INTEGER NOT NULL,
                        PRIMARY KEY (ref, lamport, replica, counter)
                    ) WITHOUT ROWID;
                    INSERT INTO ledger_refs (ref, lamport, replica, counter, entries)
                        SELECT ref, lamport, replica, counter, COUNT(*) FROM ledger WHERE ref IS NOT NULL
                        GROUP BY ref, lamport, replica, counter;
                    """)
        }
        migrator.registerMigration("v8-stock") { db in
            // A receipt consuming ten inputs at one location changed twenty rows in two tables keyed by SKU first,
            // about twenty scattered pages, each a WAL frame of its commit. One row per stock key, keyed by location
            // first (an order's inputs all lie at its location), changes ten rows on a few neighbouring pages. The
            // old tables' rows stay readable as views, with the same columns.
            try db.execute(
                sql: """
                    CREATE TABLE stock (
                        location TEXT NOT NULL, sku TEXT NOT NULL,
                        -- the valuation, NULL when none
                        quantity, value, last_rate,
                        -- the position, NULL when none
                        on_hand, on_order, demand, allocated, position_value,
                        PRIMARY KEY (location, sku)
                    ) WITHOUT ROWID;
                    INSERT INTO stock (location, sku, quantity, value, last_rate)
                        SELECT location, sku, quantity, value, last_rate FROM valuations;
                    INSERT INTO stock (location, sku, on_hand, on_order, demand, allocated, position_value)
                        SELECT location, sku, on_hand, on_order, demand, allocated, value FROM positions WHERE true
                        ON CONFLICT (location, sku) DO UPDATE SET on_hand = excluded.on_hand,
                            on_order = excluded.on_order, demand = excluded.demand, allocated = excluded.allocated,
                            position_value = excluded.position_value;
                    DROP TABLE valuations;
                    DROP TABLE positions;
                    CREATE VIEW valuations AS SELECT sku, location, quantity, value, last_rate FROM stock
                        WHERE quantity IS NOT NULL;
                    CREATE VIEW positions AS
                        SELECT sku, location, on_hand, on_order, demand, allocated, position_value AS value FROM stock
                        WHERE on_hand IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v9-warehouses") { db in
            // Schema 2 of operations: an order's own WIP and FG warehouses (NULL: its location), its backflush basis
            // (NULL: bom), what its receipts scrapped per input and lost per output (NULL: nothing) and what Make Transfer
            // moved into WIP per input (NULL: nothing), and the operations that moved it. NULL is what every existing row means, so nothing is
            // re-derived and the digest of existing data stays as it was.
            try db.execute(
                sql: """
                    ALTER TABLE orders ADD COLUMN wip TEXT;
                    ALTER TABLE orders ADD COLUMN fg TEXT;
                    ALTER TABLE orders ADD COLUMN backflush TEXT;
                    ALTER TABLE order_inputs ADD COLUMN transferred;
                    ALTER TABLE order_inputs ADD COLUMN scrapped;
                    ALTER TABLE order_lines ADD COLUMN lost;
                    CREATE TABLE order_transfers (
                        order_number TEXT NOT NULL, idx INTEGER NOT NULL, operation TEXT NOT NULL,
                        PRIMARY KEY (order_number, idx)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    /// The columns ``Replica/decodeOperation(_:)`` reads, in the order it reads them (by index: by name costs a
    /// case-insensitive search per column).
    static let operationColumns = "replica, counter, lamport, context, timestamp, date, kind, payload, schema, seq"

    /// The canonical order in SQL: HQ-sequenced operations by sequence, then the rest by (lamport, replica, counter).
    static let canonicalOrder = "seq IS NULL, seq, lamport, replica, counter"

    /// The projection tables, in an order that respects foreign keys when deleting.
    static let projectionTables = [
        "ledger", "ledger_refs", "receipt_lines", "receipts", "line_inputs", "order_inputs", "order_lines",
        "order_transfers", "orders",
        "bom_lines",
        "items", "locations", "stock", "conflicts", "acknowledgements", "field_writes", "suffix",
        "undo",
    ]
}
