/// HQ's tables on PostgreSQL. The same tables and columns as HQ's SQLite file (ShopfloorStore's `Schema`, ShopfloorHQ's
/// device registry and API tokens), in PostgreSQL's types: amounts are `numeric(25, 6)` (exact, ±10^18 with six
/// decimals, as `Amount` allows), counters and sequence numbers `bigint`, text in the "C" collation. Migrations are append-only: a database set up
/// by an earlier build is migrated by a later one, never the reverse (SyncProtocol/POSTGRES.md).
enum PostgresSchema {
    static let migrations: [PostgresMigration] = [
        PostgresMigration(version: 1, name: "v1-hq", statements: v1)
    ]

    static let amount = "numeric(25, 6)"
    /// Text compares byte by byte, as SQLite's BINARY collation does: the digest's row order, the cursors and the
    /// fold's key-prefix ranges (`key >= 'order:N:' AND key < 'order:N;'`) depend on it, whatever the database's
    /// locale.
    static let text = #"text COLLATE "C""#

    static let v1: [String] = [
        // The company's one sequence: every push locks this row first, so pushes stored through any node are
        // numbered and folded one after the other, in the order they commit.
        """
        CREATE TABLE hq_sequence (
            id integer PRIMARY KEY CHECK (id = 1),
            next bigint NOT NULL CHECK (next >= 1)
        )
        """,
        "INSERT INTO hq_sequence (id, next) VALUES (1, 1)",
        "CREATE TABLE meta (key \(text) PRIMARY KEY, value \(text) NOT NULL)",
        // The source of truth. Immutable rows; the sequence number is assigned once.
        """
        CREATE TABLE ops (
            replica \(text) NOT NULL,
            counter bigint NOT NULL CHECK (counter >= 1),
            lamport bigint NOT NULL,
            context \(text) NOT NULL,
            timestamp \(text) NOT NULL,
            date \(text) NOT NULL,
            kind \(text) NOT NULL,
            payload \(text) NOT NULL,
            schema integer NOT NULL,
            arrival bigint NOT NULL UNIQUE,
            seq bigint UNIQUE,
            PRIMARY KEY (replica, counter)
        )
        """,
        "CREATE UNIQUE INDEX ops_canonical ON ops (lamport, replica, counter)",
        """
        CREATE FUNCTION ops_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF (NEW.replica, NEW.counter, NEW.lamport, NEW.context, NEW.timestamp, NEW.date, NEW.kind, NEW.payload,
                NEW.schema, NEW.arrival) IS DISTINCT FROM (OLD.replica, OLD.counter, OLD.lamport, OLD.context,
                OLD.timestamp, OLD.date, OLD.kind, OLD.payload, OLD.schema, OLD.arrival) THEN
                RAISE EXCEPTION 'operations are immutable';
            END IF;
            IF OLD.seq IS NOT NULL AND NEW.seq IS DISTINCT FROM OLD.seq THEN
                RAISE EXCEPTION 'a sequence number is assigned once';
            END IF;
            RETURN NEW;
        END $$
        """,
        "CREATE TRIGGER ops_immutable BEFORE UPDATE ON ops FOR EACH ROW EXECUTE FUNCTION ops_immutable()",
        "CREATE TABLE version_vector (replica \(text) PRIMARY KEY, counter bigint NOT NULL)",
        // Projections: the fold of ops in HQ's sequence.
        "CREATE TABLE items (sku \(text) PRIMARY KEY, kind \(text) NOT NULL, unit \(text) NOT NULL, name \(text) NOT NULL)",
        "CREATE TABLE locations (code \(text) PRIMARY KEY, name \(text) NOT NULL)",
        """
        CREATE TABLE bom_lines (
            parent \(text) NOT NULL, child \(text) NOT NULL, quantity \(amount) NOT NULL, PRIMARY KEY (parent, child)
        )
        """,
        """
        CREATE TABLE orders (
            number \(text) PRIMARY KEY,
            kind \(text) NOT NULL,
            location \(text) NOT NULL,
            status \(text) NOT NULL,
            due \(text),
            notes \(text) NOT NULL,
            tolerance \(amount) NOT NULL,
            created_by \(text),
            requested_number \(text),
            closed_by \(text),
            creation_index bigint,
            wip \(text),
            fg \(text),
            backflush \(text)
        )
        """,
        "CREATE INDEX orders_status ON orders (status, number)",
        "CREATE INDEX orders_requested ON orders (requested_number) WHERE requested_number IS NOT NULL",
        "CREATE INDEX orders_creation ON orders (creation_index)",
        """
        CREATE TABLE order_lines (
            order_number \(text) NOT NULL,
            idx integer NOT NULL,
            sku \(text) NOT NULL,
            quantity \(amount) NOT NULL,
            unit_cost \(amount),
            produced \(amount) NOT NULL,
            on_order \(amount) NOT NULL,
            lost \(amount),
            PRIMARY KEY (order_number, idx)
        )
        """,
        """
        CREATE TABLE line_inputs (
            order_number \(text) NOT NULL,
            line_idx integer NOT NULL,
            idx integer NOT NULL,
            sku \(text) NOT NULL,
            quantity \(amount) NOT NULL,
            consumed \(amount) NOT NULL,
            PRIMARY KEY (order_number, line_idx, idx)
        )
        """,
        """
        CREATE TABLE order_inputs (
            order_number \(text) NOT NULL,
            sku \(text) NOT NULL,
            required \(amount) NOT NULL,
            demand \(amount) NOT NULL,
            allocated \(amount) NOT NULL,
            transferred \(amount),
            scrapped \(amount),
            PRIMARY KEY (order_number, sku)
        )
        """,
        """
        CREATE TABLE order_transfers (
            order_number \(text) NOT NULL, idx integer NOT NULL, operation \(text) NOT NULL, PRIMARY KEY (order_number, idx)
        )
        """,
        """
        CREATE TABLE receipts (
            id \(text) PRIMARY KEY,
            order_number \(text) NOT NULL,
            date \(text) NOT NULL,
            voided integer NOT NULL,
            voided_by \(text),
            creation_index bigint,
            operation \(text),
            requested_id \(text)
        )
        """,
        "CREATE INDEX receipts_order ON receipts (order_number, creation_index)",
        "CREATE INDEX receipts_requested ON receipts (requested_id) WHERE requested_id IS NOT NULL",
        "CREATE INDEX receipts_creation ON receipts (creation_index)",
        """
        CREATE TABLE receipt_lines (
            receipt_id \(text) NOT NULL, idx integer NOT NULL, sku \(text) NOT NULL, quantity \(amount) NOT NULL,
            PRIMARY KEY (receipt_id, idx)
        )
        """,
        """
        CREATE TABLE ledger (
            lamport bigint NOT NULL,
            replica \(text) NOT NULL,
            counter bigint NOT NULL,
            idx integer NOT NULL,
            sku \(text) NOT NULL,
            location \(text) NOT NULL,
            event \(text) NOT NULL,
            quantity \(amount) NOT NULL,
            unit_cost \(amount),
            value \(amount),
            relieved \(amount) NOT NULL,
            ref \(text),
            date \(text) NOT NULL,
            line \(text),
            PRIMARY KEY (lamport, replica, counter, idx)
        )
        """,
        """
        CREATE TABLE ledger_refs (
            ref \(text) NOT NULL, lamport bigint NOT NULL, replica \(text) NOT NULL, counter bigint NOT NULL,
            entries integer NOT NULL,
            PRIMARY KEY (ref, lamport, replica, counter)
        )
        """,
        """
        CREATE TABLE stock (
            location \(text) NOT NULL, sku \(text) NOT NULL,
            quantity \(amount), value \(amount), last_rate \(amount),
            on_hand \(amount), on_order \(amount), demand \(amount), allocated \(amount), position_value \(amount),
            PRIMARY KEY (location, sku)
        )
        """,
        """
        CREATE TABLE conflicts (
            id \(text) PRIMARY KEY,
            lamport bigint NOT NULL,
            replica \(text) NOT NULL,
            counter bigint NOT NULL,
            idx integer NOT NULL,
            kind \(text) NOT NULL,
            subject \(text) NOT NULL,
            operations \(text) NOT NULL,
            outcome \(text) NOT NULL,
            explanation \(text) NOT NULL,
            position bigint NOT NULL DEFAULT 0
        )
        """,
        "CREATE UNIQUE INDEX conflicts_fold_order ON conflicts (lamport, replica, counter, idx)",
        "CREATE INDEX conflicts_subject ON conflicts (subject)",
        "CREATE INDEX conflicts_id_position ON conflicts (position, idx)",
        """
        CREATE TABLE acknowledgements (
            conflict \(text) PRIMARY KEY, operation \(text) NOT NULL, note \(text) NOT NULL, date \(text) NOT NULL
        )
        """,
        """
        CREATE TABLE field_writes (
            key \(text) PRIMARY KEY, operation \(text) NOT NULL, value \(text) NOT NULL, rivals \(text) NOT NULL DEFAULT ''
        )
        """,
        // HQ's own: enrolled devices, the boundary refusals an operator reviews, API tokens and idempotency keys.
        """
        CREATE TABLE devices (
            id \(text) PRIMARY KEY,
            name \(text) NOT NULL,
            secret_hash \(text) NOT NULL,
            salt \(text) NOT NULL,
            replica \(text) UNIQUE,
            created \(text) NOT NULL,
            revoked \(text),
            last_contact \(text),
            acknowledged \(text) NOT NULL DEFAULT '{}',
            pushed bigint NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE boundary_refusals (
            operation \(text) NOT NULL,
            device \(text) NOT NULL,
            code \(text) NOT NULL,
            message \(text) NOT NULL,
            fingerprint \(text) NOT NULL,
            at \(text) NOT NULL,
            count integer NOT NULL DEFAULT 1,
            PRIMARY KEY (operation, device, fingerprint)
        )
        """,
        // The views SQLite's file keeps for the valuation and the position of each stock key (the digest reads them).
        """
        CREATE VIEW valuations AS SELECT sku, location, quantity, value, last_rate FROM stock
            WHERE quantity IS NOT NULL
        """,
        """
        CREATE VIEW positions AS
            SELECT sku, location, on_hand, on_order, demand, allocated, position_value AS value FROM stock
            WHERE on_hand IS NOT NULL
        """,
        "CREATE INDEX boundary_refusals_at ON boundary_refusals (at, operation)",
        """
        CREATE TABLE api_tokens (
            id \(text) PRIMARY KEY,
            name \(text) NOT NULL,
            scope \(text) NOT NULL,
            secret_hash \(text) NOT NULL,
            created \(text) NOT NULL,
            expires \(text),
            revoked \(text),
            last_used \(text)
        )
        """,
        """
        CREATE TABLE api_idempotency (
            token \(text) NOT NULL,
            key \(text) NOT NULL,
            request_hash \(text) NOT NULL,
            status integer NOT NULL,
            body bytea NOT NULL,
            created \(text) NOT NULL,
            PRIMARY KEY (token, key)
        )
        """,
    ]
}
