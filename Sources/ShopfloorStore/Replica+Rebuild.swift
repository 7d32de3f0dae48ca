import GRDB
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    /// Re-derives every projection from the operation log alone, in one transaction.
    public func rebuild() throws {
        try state.withLock { state in
            do {
                try database.write { db in
                    state.fold = try Self.refold(db)
                    try Self.saveClocks(state, db)
                }
            } catch {
                state = try database.read { try Self.loadState($0) }
                throw error
            }
        }
        configuration.logger.info("projections rebuilt from the log", metadata: ["replica": "\(id)"])
    }

    /// Clears the projections and folds the whole log in canonical order.
    static func refold(_ db: Database) throws -> Fold {
        for table in Schema.projectionTables { try db.execute(sql: "DELETE FROM \(table)") }
        var fold = Fold()
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM ops ORDER BY lamport, replica, counter")
        while let row = try cursor.next() {
            let op = try decodeOperation(row)
            let step = fold.apply(op)
            try write(step, key: op.key, fold: fold, stateRows: false, db)
        }
        try writeAllState(fold, db)
        return fold
    }
}

extension Replica {
    /// Clocks from the log, with an empty fold (used before a refold).
    static func emptyState(_ db: Database) throws -> ReplicaState {
        var vector = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM version_vector") {
            vector[row["replica"]] = UInt64(row["counter"] as Int64)
        }
        let lamport = try Int64.fetchOne(db, sql: "SELECT MAX(lamport) FROM ops") ?? 0
        let arrival = try Int64.fetchOne(db, sql: "SELECT MAX(arrival) FROM ops") ?? 0
        let sequence = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'order_sequence'")
        return ReplicaState(
            fold: Fold(), vector: vector, lamport: UInt64(lamport), arrival: arrival,
            orderSequence: Int(sequence ?? "0") ?? 0)
    }
}
