import GRDB
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    /// Re-derives every projection from the operation log alone, in one transaction.
    public func rebuild() throws {
        try state.withLock { state in
            do {
                try database.write { db in
                    try Self.catchUp(&state, db)
                    try Self.refold(&state, db)
                    try configuration.crashSite?(.rebuiltFold)
                    try Self.saveClocks(state, db)
                    state.dataVersion = try Self.dataVersion(db)
                }
            } catch {
                state = try database.read { try Self.loadState($0) }
                throw error
            }
        }
        configuration.logger.info("projections rebuilt from the log", metadata: ["replica": "\(id)"])
    }

    /// Clears the projections and folds the whole log in canonical order.
    static func refold(_ state: inout ReplicaState, _ db: Database) throws {
        for table in Schema.projectionTables { try db.execute(sql: "DELETE FROM \(table)") }
        state.cache = WorkingSetCache()
        state.last = nil
        state.count = 0
        state.boundary = nil
        try foldRemaining(&state, db)
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
        let sequencer = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'sequencer'") == "1"
        let maxSeq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") ?? 0
        return ReplicaState(
            vector: vector, lamport: UInt64(lamport), arrival: arrival,
            orderSequence: Int(sequence ?? "0") ?? 0, sequencer: sequencer, nextSeq: UInt64(maxSeq) + 1)
    }
}

extension Replica {
    static func dataVersion(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "PRAGMA data_version") ?? 0
    }

    /// Reloads the in-memory state when another process wrote the file since this one last did.
    static func catchUp(_ state: inout ReplicaState, _ db: Database) throws {
        let version = try dataVersion(db)
        guard version != state.dataVersion else { return }
        state = try loadState(db)
        state.dataVersion = version
    }
}
