import GRDB
import ShopfloorStore

/// Every projection row of a replica as text, to say precisely where two states differ.
struct ProjectionDump {
    static let queries: [(String, String)] = [
        ("items", "SELECT sku, kind, unit, name FROM items ORDER BY sku"),
        ("locations", "SELECT code, name FROM locations ORDER BY code"),
        ("bom_lines", "SELECT parent, child, quantity FROM bom_lines ORDER BY parent, child"),
        ("orders", "SELECT number, status, document FROM orders ORDER BY number"),
        ("receipts", "SELECT id, order_number, date, voided, lines FROM receipts ORDER BY id"),
        (
            "ledger",
            """
            SELECT replica, counter, idx, sku, location, event, quantity, unit_cost, value, relieved, ref, date
            FROM ledger ORDER BY replica, counter, idx
            """
        ),
        ("valuations", "SELECT sku, location, quantity, value, last_rate FROM valuations ORDER BY sku, location"),
        (
            "positions",
            "SELECT sku, location, on_hand, on_order, demand, allocated, value FROM positions ORDER BY sku, location"
        ),
        ("conflicts", "SELECT id, kind, subject, operations, outcome, explanation FROM conflicts ORDER BY id"),
        ("acknowledgements", "SELECT conflict, operation, note, date FROM acknowledgements ORDER BY conflict"),
        ("field_writes", "SELECT key, operation, value, rivals FROM field_writes ORDER BY key"),
    ]

    var tables: [(String, [String])] = []

    init(_ replica: Replica) throws {
        tables = try replica.read { db in
            try Self.queries.map { table, sql in
                (
                    table,
                    try Row.fetchAll(db, sql: sql).map { row in
                        row.databaseValues.map { $0.isNull ? "NULL" : $0.description }.joined(separator: " | ")
                    }
                )
            }
        }
    }

    /// The first differing rows of each table that differs, or nil when the dumps are equal.
    func difference(from other: ProjectionDump, _ name: String, _ otherName: String) -> String? {
        var parts: [String] = []
        for ((table, rows), (_, otherRows)) in zip(tables, other.tables) where rows != otherRows {
            let mine = Set(rows)
            let theirs = Set(otherRows)
            let only = rows.filter { !theirs.contains($0) }
            let otherOnly = otherRows.filter { !mine.contains($0) }
            var text = "\(table) (\(name) \(rows.count) rows, \(otherName) \(otherRows.count))"
            if let row = only.first { text += "; only in \(name): «\(Self.clip(row))»" }
            if let row = otherOnly.first { text += "; only in \(otherName): «\(Self.clip(row))»" }
            if only.isEmpty && otherOnly.isEmpty { text += "; same rows, different multiplicity" }
            parts.append(text)
        }
        return parts.isEmpty ? nil : parts.joined(separator: " / ")
    }

    static func clip(_ text: String, _ limit: Int = 300) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}
