import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// HQ's sequence and the device's unsynced suffix.
///
/// HQ (the sequencer) numbers every operation on arrival; that number is the canonical order, so HQ only ever
/// appends to its fold. A device folds its own new operations (and any unsequenced ones) after everything HQ
/// has ordered; when HQ's order for them arrives, the device rewinds that suffix with the before-images it kept
/// and folds forward again. The cost is the suffix, never the whole log.
extension Replica {
    /// Folds operations (sorted in canonical order, all after the fold's last) and writes their projections.
    static func foldForward(_ ops: some Sequence<ShopOperation>, _ state: inout ReplicaState, _ db: Database) throws {
        var touched = Touched()
        for op in ops {
            if op.seq == nil && !state.sequencer {
                if !touched.isEmpty {
                    try writeState(touched, fold: state.fold, db)
                    touched = Touched()
                }
                let boundary = state.boundary ?? Boundary(last: state.fold.last, count: state.fold.count)
                let step = state.fold.apply(op)
                state.boundary = boundary
                try enterSuffix(op, touched: step.touched, db)
                try write(step, key: op.key, fold: state.fold, stateRows: true, db)
            } else {
                let step = state.fold.apply(op)
                try write(step, key: op.key, fold: state.fold, stateRows: false, db)
                touched.formUnion(step.touched)
            }
        }
        if !touched.isEmpty { try writeState(touched, fold: state.fold, db) }
    }

    /// Remembers an unsequenced operation and the rows it is about to change, as they are before the suffix.
    static func enterSuffix(_ op: ShopOperation, touched: Touched, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO suffix (replica, counter) VALUES (?, ?)")
            .execute(arguments: [op.id.replica, Int64(op.id.counter)])
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO undo (kind, key, image) VALUES (?, ?, ?)")
        let known = try db.cachedStatement(sql: "SELECT 1 FROM undo WHERE kind = ? AND key = ?")
        // Only the first image of a row counts (the row as it was before the suffix): skip reading it again.
        struct Keeper {
            let insert: Statement
            let known: Statement
            func execute(_ kind: String, _ key: String, image: () throws -> String?) throws {
                guard try Bool.fetchOne(known, arguments: [kind, key]) == nil else { return }
                try insert.execute(arguments: [kind, key, try image()])
            }
        }
        let keep = Keeper(insert: insert, known: known)
        for sku in Set(touched.items) {
            try keep.execute("item", sku) {
                try image(db, "SELECT sku, kind, unit, name FROM items WHERE sku = ?", [sku])
            }
        }
        for code in Set(touched.locations) {
            try keep.execute("location", code) {
                try image(db, "SELECT code, name FROM locations WHERE code = ?", [code])
            }
        }
        for parent in Set(touched.boms) {
            try keep.execute("bom", parent) {
                let lines = try Row.fetchAll(
                    db, sql: "SELECT child, quantity FROM bom_lines WHERE parent = ?", arguments: [parent]
                ).map { [$0["child"] as String, $0["quantity"] as String] }
                return lines.isEmpty ? nil : try json(lines)
            }
        }
        for number in Set(touched.orders) {
            try keep.execute("order", number) {
                try String.fetchOne(db, sql: "SELECT document FROM orders WHERE number = ?", arguments: [number])
            }
        }
        for key in touched.stock {
            try keep.execute("stock", try json([key.sku, key.location])) {
                let valuation = try image(
                    db, "SELECT * FROM valuations WHERE sku = ? AND location = ?", [key.sku, key.location])
                let position = try image(
                    db, "SELECT * FROM positions WHERE sku = ? AND location = ?", [key.sku, key.location])
                return valuation == nil && position == nil ? nil : try json([valuation ?? "", position ?? ""])
            }
        }
        for conflict in Set(touched.acknowledgements) {
            try keep.execute("ack", conflict) {
                try image(db, "SELECT * FROM acknowledgements WHERE conflict = ?", [conflict])
            }
        }
        for field in Set(touched.fields) {
            try keep.execute("field", field) { try image(db, "SELECT * FROM field_writes WHERE key = ?", [field]) }
        }
    }

    /// A row as a JSON object of its column texts, or nil when there is no row.
    static func image(_ db: Database, _ sql: String, _ arguments: [String]) throws -> String? {
        guard let row = try Row.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) else { return nil }
        var object: [String: String?] = [:]
        for (column, value) in row {
            object[column] = value.isNull ? nil : String.fromDatabaseValue(value) ?? value.description
        }
        return try json(object)
    }

    /// Re-inserts a row from its image.
    static func restoreRow(_ db: Database, table: String, image: String) throws {
        let object = try JSONDecoder().decode([String: String?].self, from: Data(image.utf8))
        let columns = object.keys.sorted()
        let sql =
            "INSERT OR REPLACE INTO \(table) (\(columns.joined(separator: ", "))) VALUES ("
            + columns.map { _ in "?" }.joined(separator: ", ") + ")"
        try db.execute(sql: sql, arguments: StatementArguments(columns.map { object[$0]! }))
    }

    /// Undoes the unsequenced suffix: projection rows back to their before-images, the suffix's ledger entries and
    /// conflicts removed, and the in-memory fold reloaded at the boundary. Clocks are kept.
    static func rewind(_ state: inout ReplicaState, _ db: Database) throws {
        guard let boundary = state.boundary else { return }
        try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
        let decoder = JSONDecoder()
        for row in try Row.fetchAll(db, sql: "SELECT kind, key, image FROM undo") {
            let kind: String = row["kind"]
            let key: String = row["key"]
            let image: String? = row["image"]
            switch kind {
            case "item":
                try db.execute(sql: "DELETE FROM items WHERE sku = ?", arguments: [key])
                if let image { try restoreRow(db, table: "items", image: image) }
            case "location":
                try db.execute(sql: "DELETE FROM locations WHERE code = ?", arguments: [key])
                if let image { try restoreRow(db, table: "locations", image: image) }
            case "bom":
                try db.execute(sql: "DELETE FROM bom_lines WHERE parent = ?", arguments: [key])
                for line in try image.map({ try decoder.decode([[String]].self, from: Data($0.utf8)) }) ?? [] {
                    try db.execute(
                        sql: "INSERT INTO bom_lines (parent, child, quantity) VALUES (?, ?, ?)",
                        arguments: [key, line[0], line[1]])
                }
            case "order":
                try db.execute(sql: "DELETE FROM receipts WHERE order_number = ?", arguments: [key])
                try db.execute(sql: "DELETE FROM orders WHERE number = ?", arguments: [key])
                if let image { try writeOrder(try decoder.decode(Order.self, from: Data(image.utf8)), db) }
            case "stock":
                let parts = try decoder.decode([String].self, from: Data(key.utf8))
                try db.execute(
                    sql: "DELETE FROM valuations WHERE sku = ? AND location = ?", arguments: [parts[0], parts[1]])
                try db.execute(
                    sql: "DELETE FROM positions WHERE sku = ? AND location = ?", arguments: [parts[0], parts[1]])
                if let image {
                    let pair = try decoder.decode([String].self, from: Data(image.utf8))
                    if !pair[0].isEmpty { try restoreRow(db, table: "valuations", image: pair[0]) }
                    if !pair[1].isEmpty { try restoreRow(db, table: "positions", image: pair[1]) }
                }
            case "ack":
                try db.execute(sql: "DELETE FROM acknowledgements WHERE conflict = ?", arguments: [key])
                if let image { try restoreRow(db, table: "acknowledgements", image: image) }
            case "field":
                try db.execute(sql: "DELETE FROM field_writes WHERE key = ?", arguments: [key])
                if let image { try restoreRow(db, table: "field_writes", image: image) }
            default:
                preconditionFailure("unknown undo kind \(kind)")
            }
        }
        for table in ["ledger", "conflicts"] {
            try db.execute(
                sql: """
                    DELETE FROM \(table) WHERE EXISTS
                        (SELECT 1 FROM suffix s WHERE s.replica = \(table).replica AND s.counter = \(table).counter)
                    """)
        }
        try db.execute(sql: "DELETE FROM suffix")
        try db.execute(sql: "DELETE FROM undo")
        if let last = boundary.last {
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('folded_key', ?)", arguments: [try json(last)])
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'folded_key'")
        }
        try db.execute(
            sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('folded_count', ?)", arguments: ["\(boundary.count)"]
        )
        try db.execute(sql: "DELETE FROM meta WHERE key = 'boundary'")
        let kept = state
        state = try loadState(db)
        state.vector = kept.vector
        state.lamport = kept.lamport
        state.arrival = kept.arrival
        state.orderSequence = kept.orderSequence
        state.nextSeq = kept.nextSeq
        state.boundary = nil
    }

    /// Folds every operation that sorts after the fold's last (after a rewind, or from nothing for a rebuild).
    static func foldRemaining(_ state: inout ReplicaState, _ db: Database) throws {
        var after = Int64(state.fold.last?.seq ?? 0)
        while true {
            // In chunks, so a long log never sits in memory at once.
            let chunk = try Row.fetchAll(
                db, sql: "SELECT * FROM ops WHERE seq > ? ORDER BY seq LIMIT 10000", arguments: [after]
            ).map(decodeOperation)
            guard let last = chunk.last else { break }
            try foldForward(chunk, &state, db)
            after = Int64(last.seq!)
        }
        let unsequenced = try Row.fetchAll(
            db, sql: "SELECT * FROM ops WHERE seq IS NULL ORDER BY lamport, replica, counter"
        ).map(decodeOperation)
        try foldForward(unsequenced, &state, db)
    }

    /// The common case of a sync: HQ numbered this device's own unsynced operations in the order the device folded
    /// them, with nothing of anyone else's in between. Then the fold needs no rewind: record the numbers, and when
    /// the whole suffix is numbered, forget its undo images. Returns false (changing nothing) otherwise.
    static func promoteInOrder(
        _ assignments: [OperationID: UInt64], _ state: inout ReplicaState, _ db: Database
    ) throws -> Bool {
        guard !assignments.isEmpty, state.boundary != nil else { return false }
        let sorted = assignments.sorted { $0.value < $1.value }
        let highest = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops") ?? 0
        guard Int64(sorted[0].value) > highest else { return false }
        let unpromoted = try Row.fetchAll(
            db,
            sql: """
                SELECT o.replica, o.counter, o.lamport FROM ops o JOIN suffix s
                    ON s.replica = o.replica AND s.counter = o.counter
                WHERE o.seq IS NULL ORDER BY o.lamport, o.replica, o.counter
                """
        ).map {
            (
                OperationID(replica: $0["replica"], counter: UInt64($0["counter"] as Int64)),
                UInt64($0["lamport"] as Int64)
            )
        }
        let unsequencedTotal = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ops WHERE seq IS NULL") ?? 0
        guard unpromoted.count == unsequencedTotal, sorted.count <= unpromoted.count,
            zip(sorted, unpromoted).allSatisfy({ $0.0.key == $0.1.0 })
        else { return false }
        for (id, seq) in sorted {
            try db.execute(
                sql: "UPDATE ops SET seq = ? WHERE replica = ? AND counter = ?",
                arguments: [Int64(seq), id.replica, Int64(id.counter)])
        }
        if sorted.count == unpromoted.count {
            // The whole suffix is in HQ's order now: nothing left to rewind.
            let last = unpromoted[unpromoted.count - 1]
            state.fold.relabelLast(
                CanonicalKey(
                    seq: sorted[sorted.count - 1].value, lamport: last.1, replica: last.0.replica,
                    counter: last.0.counter))
            try db.execute(sql: "DELETE FROM suffix")
            try db.execute(sql: "DELETE FROM undo")
            state.boundary = nil
        }
        return true
    }

    /// Turns a replica into the sequencer (HQ): numbers any unsequenced operations in canonical order and refolds.
    static func becomeSequencer(_ database: DatabaseQueue) throws {
        try database.write { db in
            guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'sequencer'") != "1" else { return }
            guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'") != nil else { return }
            var next = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops") ?? 0) + 1
            let unsequenced = try Row.fetchAll(
                db, sql: "SELECT replica, counter FROM ops WHERE seq IS NULL ORDER BY lamport, replica, counter")
            for row in unsequenced {
                try db.execute(
                    sql: "UPDATE ops SET seq = ? WHERE replica = ? AND counter = ?",
                    arguments: [next, row["replica"] as String, row["counter"] as Int64])
                next += 1
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('sequencer', '1')")
            if !unsequenced.isEmpty {
                var state = try emptyState(db)
                state.sequencer = true
                try refold(&state, db)
                try saveClocks(state, db)
            }
        }
    }

    /// The highest sequence number this replica holds (a device's pull cursor).
    public var sequencedThrough: UInt64 {
        (try? database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops") }).flatMap { $0 }
            .map { UInt64($0) } ?? 0
    }

    /// True for HQ.
    public var isSequencer: Bool { state.withLock { $0.sequencer } }
}

extension Touched {
    var isEmpty: Bool {
        items.isEmpty && locations.isEmpty && boms.isEmpty && orders.isEmpty && stock.isEmpty
            && acknowledgements.isEmpty && fields.isEmpty
    }
}
