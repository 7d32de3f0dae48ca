import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    static func json(_ value: some Encodable) throws -> String {
        try ProjectionWriter.json(value)
    }

    static func insert(_ op: ShopOperation, arrival: Int64, _ sql: any SQLExecutor) throws {
        try sql.execute(
            """
            INSERT INTO ops (replica, counter, lamport, context, timestamp, date, kind, payload, schema, arrival, seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, op.id.replica, op.id.counter, op.lamport, try op.context.compactJSON ?? json(op.context), op.timestamp,
            op.date, op.kind, op.payload, op.schema, arrival, op.seq)
    }

    /// A fold position as `json(_:)` writes it (sorted keys), built directly: it is saved on every commit. A replica
    /// id is plain ASCII (`[A-Za-z0-9._-]`), so it needs no escaping; anything else goes through the encoder.
    static func metaJSON(_ key: CanonicalKey) throws -> String {
        guard VersionVector.isValidReplicaID(key.replica) else { return try json(key) }
        let seq = key.seq.map { ",\"seq\":\($0)" } ?? ""
        return "{\"counter\":\(key.counter),\"lamport\":\(key.lamport),\"replica\":\"\(key.replica)\"\(seq)}"
    }

    /// Saves the clocks and the fold position; the version vector only where it moved.
    static func saveClocks(_ state: ReplicaState, _ sql: any SQLExecutor, previous: VersionVector? = nil) throws {
        let upsertMeta = try sql.prepare(Upsert.meta)
        try upsertMeta.execute(["lamport", "\(state.lamport)"])
        try upsertMeta.execute(["folded_count", "\(state.count)"])
        if let last = state.last {
            try upsertMeta.execute(["folded_key", .text(try metaJSON(last))])
        } else {
            try sql.execute("DELETE FROM meta WHERE key = 'folded_key'")
        }
        if let boundary = state.boundary {
            try upsertMeta.execute([
                "boundary",
                .text(
                    try boundary.last.map { "{\"count\":\(boundary.count),\"last\":" + (try metaJSON($0)) + "}" }
                        ?? json(boundary)),
            ])
        } else {
            try sql.execute("DELETE FROM meta WHERE key = 'boundary'")
        }
        let upsertVector = try sql.prepare(Upsert.versionVector)
        for (replica, counter) in state.vector.counters where previous.map({ $0[replica] != counter }) ?? true {
            try upsertVector.execute([.text(replica), counter.sqlValue])
        }
    }

    // MARK: Loading

    /// Opening a replica reads this: a few meta rows, the version vector (one row per replica) and two indexed
    /// maxima. No projection row is read until a command needs it.
    static func loadState(_ db: Database) throws -> ReplicaState {
        var state = try loadState(db as any SQLExecutor)
        state.dataVersion = try dataVersion(db)
        return state
    }

    /// The state as the store holds it, on either backend (a PostgreSQL node reads it in every transaction).
    static func loadState(_ sql: any SQLExecutor) throws -> ReplicaState {
        let decoder = JSONDecoder()
        let meta = Dictionary(
            try sql.rows("SELECT key, value FROM meta").map { (try $0[0].string(), try $0[1].string()) },
            uniquingKeysWith: { $1 })
        var vector = VersionVector()
        for row in try sql.rows("SELECT replica, counter FROM version_vector") {
            vector[try row[0].string()] = try row[1].uint64()
        }
        let arrival = try sql.scalar("SELECT MAX(arrival) FROM ops")?.int64() ?? 0
        let maxSeq = try sql.scalar("SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL")?.int64() ?? 0
        return ReplicaState(
            last: try meta["folded_key"].map { try decoder.decode(CanonicalKey.self, from: Data($0.utf8)) },
            count: Int(meta["folded_count"] ?? "0") ?? 0, vector: vector,
            lamport: UInt64(meta["lamport"] ?? "0") ?? 0, arrival: arrival,
            orderSequence: Int(meta["order_sequence"] ?? "0") ?? 0, sequencer: meta["sequencer"] == "1",
            nextSeq: UInt64(maxSeq) + 1,
            boundary: try meta["boundary"].map { try decoder.decode(Boundary.self, from: Data($0.utf8)) })
    }

    /// An operation from a row of `SELECT \(Schema.operationColumns) FROM ops`.
    static func decodeOperation(_ row: SQLRow) throws -> ShopOperation {
        let context = try row[3].string()
        return ShopOperation(
            id: OperationID(replica: try row[0].string(), counter: try row[1].uint64()), lamport: try row[2].uint64(),
            context: try VersionVector(compactJSON: context)
                ?? JSONDecoder().decode(VersionVector.self, from: Data(context.utf8)),
            timestamp: try row[4].string(), date: try row[5].string(), kind: try row[6].string(),
            payload: try row[7].string(), schema: try row[8].int(), seq: try row[9].isNull ? nil : row[9].uint64())
    }
}
