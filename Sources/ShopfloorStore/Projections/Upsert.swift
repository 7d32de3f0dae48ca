/// The statements that write a whole row over whatever row has its key, as `INSERT … ON CONFLICT (key) DO UPDATE`:
/// the form both SQLite and PostgreSQL accept (SyncProtocol/POSTGRES.md). For these tables it does what SQLite's
/// `INSERT OR REPLACE` did: their only uniqueness is the key, and they have no triggers and no foreign keys.
enum Upsert {
    static let items = sql("items", ["sku", "kind", "unit", "name"], key: 1)
    static let locations = sql("locations", ["code", "name"], key: 1)
    static let orders = sql(
        "orders",
        [
            "number", "kind", "location", "status", "due", "notes", "tolerance", "created_by", "requested_number",
            "closed_by", "creation_index", "wip", "fg", "backflush",
        ], key: 1)
    static let orderLines = sql(
        "order_lines", ["order_number", "idx", "sku", "quantity", "unit_cost", "produced", "on_order", "lost"], key: 2)
    static let lineInputs = sql(
        "line_inputs", ["order_number", "line_idx", "idx", "sku", "quantity", "consumed"], key: 3)
    static let orderInputs = sql(
        "order_inputs", ["order_number", "sku", "required", "demand", "allocated", "transferred", "scrapped"], key: 2)
    static let orderTransfers = sql("order_transfers", ["order_number", "idx", "operation"], key: 2)
    static let receipts = sql(
        "receipts",
        ["id", "order_number", "date", "voided", "voided_by", "creation_index", "operation", "requested_id"], key: 1)
    static let receiptLines = sql("receipt_lines", ["receipt_id", "idx", "sku", "quantity"], key: 2)
    static let stock = sql(
        "stock",
        [
            "location", "sku", "quantity", "value", "last_rate", "on_hand", "on_order", "demand", "allocated",
            "position_value",
        ], key: 2)
    static let acknowledgements = sql("acknowledgements", ["conflict", "operation", "note", "date"], key: 1)
    static let fieldWrites = sql("field_writes", ["key", "operation", "value", "rivals"], key: 1)
    static let meta = sql("meta", ["key", "value"], key: 1)
    static let versionVector = sql("version_vector", ["replica", "counter"], key: 1)
    /// Rows that are never changed once there: a second write of the key is ignored.
    static let suffix = sql("suffix", ["replica", "counter"], key: 2)
    static let undo = sql("undo", ["kind", "key", "image"], key: 2, keepExisting: true)

    /// `INSERT INTO table (columns) VALUES (?, …) ON CONFLICT (the first `key` columns) DO UPDATE SET` the others (or
    /// `DO NOTHING` when there are none, or when `keepExisting`).
    static func sql(_ table: String, _ columns: [String], key: Int, keepExisting: Bool = false) -> String {
        precondition(key >= 1 && key <= columns.count, "a key is some of the columns")
        let values = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        let updates = columns.dropFirst(key).map { "\($0) = excluded.\($0)" }
        let action = keepExisting || updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", ")
        return "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(values)) "
            + "ON CONFLICT (\(columns.prefix(key).joined(separator: ", "))) \(action)"
    }
}
