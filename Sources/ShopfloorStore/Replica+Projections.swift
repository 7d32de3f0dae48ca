import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    static func json(_ value: some Encodable) throws -> String {
        try ProjectionWriter.json(value)
    }

    static func insert(_ op: ShopOperation, arrival: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO ops (replica, counter, lamport, context, timestamp, date, kind, payload, schema, arrival, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            op.id.replica, Int64(op.id.counter), Int64(op.lamport), try op.context.compactJSON ?? json(op.context),
            op.timestamp, op.date,
            op.kind, op.payload, op.schema, arrival, op.seq.map { Int64($0) },
        ])
    }

    /// A fold position as `json(_:)` writes it (sorted keys), built directly: it is saved on every commit. A replica
    /// id is plain ASCII (`[A-Za-z0-9._-]`), so it needs no escaping; anything else goes through the encoder.
    static func metaJSON(_ key: CanonicalKey) throws -> String {
        guard VersionVector.isValidReplicaID(key.replica) else { return try json(key) }
        let seq = key.seq.map { ",\"seq\":\($0)" } ?? ""
        return "{\"counter\":\(key.counter),\"lamport\":\(key.lamport),\"replica\":\"\(key.replica)\"\(seq)}"
    }

    /// Saves the clocks and the fold position; the version vector only where it moved.
    static func saveClocks(_ state: ReplicaState, _ db: Database, previous: VersionVector? = nil) throws {
        let upsertMeta = try db.cachedStatement(sql: Upsert.meta)
        try upsertMeta.execute(arguments: ["lamport", "\(state.lamport)"])
        try upsertMeta.execute(arguments: ["folded_count", "\(state.count)"])
        if let last = state.last {
            try upsertMeta.execute(arguments: ["folded_key", try metaJSON(last)])
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'folded_key'")
        }
        if let boundary = state.boundary {
            try upsertMeta.execute(arguments: [
                "boundary",
                try boundary.last.map { "{\"count\":\(boundary.count),\"last\":" + (try metaJSON($0)) + "}" }
                    ?? json(boundary),
            ])
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'boundary'")
        }
        let upsertVector = try db.cachedStatement(sql: Upsert.versionVector)
        for (replica, counter) in state.vector.counters where previous.map({ $0[replica] != counter }) ?? true {
            try upsertVector.execute(arguments: [replica, Int64(counter)])
        }
    }

    // MARK: Loading

    /// Opening a replica reads this: a few meta rows, the version vector (one row per replica) and two indexed
    /// maxima. No projection row is read until a command needs it.
    static func loadState(_ db: Database) throws -> ReplicaState {
        let decoder = JSONDecoder()
        let meta = Dictionary(
            try Row.fetchAll(db, sql: "SELECT key, value FROM meta").map {
                ($0["key"] as String, $0["value"] as String)
            },
            uniquingKeysWith: { $1 })
        var vector = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM version_vector") {
            vector[row["replica"]] = UInt64(row["counter"] as Int64)
        }
        let arrival = try Int64.fetchOne(db, sql: "SELECT MAX(arrival) FROM ops") ?? 0
        let maxSeq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") ?? 0
        return ReplicaState(
            last: try meta["folded_key"].map { try decoder.decode(CanonicalKey.self, from: Data($0.utf8)) },
            count: Int(meta["folded_count"] ?? "0") ?? 0, vector: vector,
            lamport: UInt64(meta["lamport"] ?? "0") ?? 0, arrival: arrival,
            orderSequence: Int(meta["order_sequence"] ?? "0") ?? 0, sequencer: meta["sequencer"] == "1",
            nextSeq: UInt64(maxSeq) + 1,
            boundary: try meta["boundary"].map { try decoder.decode(Boundary.self, from: Data($0.utf8)) },
            dataVersion: try dataVersion(db))
    }

    /// An operation from a row of `SELECT \(Schema.operationColumns) FROM ops`.
    static func decodeOperation(_ row: Row) throws -> ShopOperation {
        let context: String = row[3]
        return ShopOperation(
            id: OperationID(replica: row[0], counter: UInt64(row[1] as Int64)), lamport: UInt64(row[2] as Int64),
            context: try VersionVector(compactJSON: context)
                ?? JSONDecoder().decode(VersionVector.self, from: Data(context.utf8)),
            timestamp: row[4], date: row[5], kind: row[6], payload: row[7], schema: row[8],
            seq: (row[9] as Int64?).map { UInt64($0) })
    }
}
