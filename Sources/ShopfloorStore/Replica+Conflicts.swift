import Foundation
import GRDB
import ShopfloorDomain

/// One conflict as the CLI and HQ show it.
public struct ConflictRow: Sendable, Hashable, Codable {
    public struct Involved: Sendable, Hashable, Codable {
        public var operation: String
        public var author: String
    }

    public struct Acknowledged: Sendable, Hashable, Codable {
        public var operation: String
        public var note: String
        public var date: String
    }

    public var id: String
    public var kind: String
    public var subject: String
    public var operations: [Involved]
    public var outcome: String
    public var explanation: String
    public var acknowledged: Acknowledged?
}

extension Replica {
    /// Conflicts in fold order; open ones only unless `all`.
    public func conflictRows(all: Bool = false, subject: String? = nil) throws -> [ConflictRow] {
        try read { db in
            var sql = """
                SELECT c.*, a.operation AS ack_operation, a.note AS ack_note, a.date AS ack_date
                FROM conflicts c LEFT JOIN acknowledgements a ON a.conflict = c.id
                """
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if !all { conditions.append("a.conflict IS NULL") }
            if let subject {
                conditions.append("c.subject = ?")
                arguments.append(subject)
            }
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            sql += " ORDER BY c.position, c.idx"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                let operations = try JSONDecoder().decode([String].self, from: Data((row["operations"] as String).utf8))
                let ackOperation: String? = row["ack_operation"]
                return ConflictRow(
                    id: row["id"], kind: row["kind"], subject: row["subject"],
                    operations: operations.filter { !$0.isEmpty }.map { id in
                        ConflictRow.Involved(
                            operation: id, author: id.lastIndex(of: ":").map { String(id[..<$0]) } ?? id)
                    },
                    outcome: row["outcome"], explanation: row["explanation"],
                    acknowledged: ackOperation.map {
                        ConflictRow.Acknowledged(operation: $0, note: row["ack_note"], date: row["ack_date"])
                    })
            }
        }
    }
}

/// How many conflicts of one kind there are, and how many nobody has acknowledged.
public struct ConflictCount: Sendable, Hashable {
    public var kind: String
    public var total: Int
    public var open: Int
}

extension Replica {
    /// Conflicts counted by kind, in kind order.
    public func conflictCounts() throws -> [ConflictCount] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.kind, COUNT(*) AS total, SUM(CASE WHEN a.conflict IS NULL THEN 1 ELSE 0 END) AS open
                    FROM conflicts c LEFT JOIN acknowledgements a ON a.conflict = c.id
                    GROUP BY c.kind ORDER BY c.kind
                    """
            ).map { ConflictCount(kind: $0["kind"], total: $0["total"], open: $0["open"]) }
        }
    }
}
