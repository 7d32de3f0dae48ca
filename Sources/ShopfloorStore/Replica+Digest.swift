import Crypto
import Foundation
import GRDB

extension Replica {
    /// A stable SHA-256 over every projection: the same op set gives the same digest on any machine.
    ///
    /// Rows are hashed in a fixed order with their exact decimal text; local-only data (arrival order, names,
    /// sync bookkeeping) is left out.
    public func digest() throws -> String {
        try database.read { db in try Self.digest(db) }
    }

    static func digest(_ db: Database) throws -> String {
        var hasher = SHA256()
        let queries: [(String, String)] = [
            ("item", "SELECT sku, kind, unit, name FROM items ORDER BY sku"),
            ("location", "SELECT code, name FROM locations ORDER BY code"),
            ("bom", "SELECT parent, child, quantity FROM bom_lines ORDER BY parent, child"),
            ("order", "SELECT number, status, document FROM orders ORDER BY number"),
            ("receipt", "SELECT id, order_number, date, voided, lines FROM receipts ORDER BY id"),
            (
                "ledger",
                """
                SELECT lamport, replica, counter, idx, sku, location, event, quantity, unit_cost, value, relieved, ref, date
                FROM ledger ORDER BY lamport, replica, counter, idx
                """
            ),
            ("valuation", "SELECT sku, location, quantity, value, last_rate FROM valuations ORDER BY sku, location"),
            (
                "position",
                "SELECT sku, location, on_hand, on_order, demand, allocated, value FROM positions ORDER BY sku, location"
            ),
            (
                "conflict",
                """
                SELECT id, kind, subject, operations, outcome, explanation FROM conflicts
                ORDER BY lamport, replica, counter, idx
                """
            ),
            ("acknowledgement", "SELECT conflict, operation, note, date FROM acknowledgements ORDER BY conflict"),
            ("field", "SELECT key, operation, value, rivals FROM field_writes ORDER BY key"),
        ]
        for (tag, sql) in queries {
            let cursor = try Row.fetchCursor(db, sql: sql)
            while let row = try cursor.next() {
                var line = tag
                for value in row.databaseValues {
                    line += "\u{1F}"
                    line += value.isNull ? "\u{0}" : value.description
                }
                line += "\n"
                hasher.update(data: Array(line.utf8))
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
