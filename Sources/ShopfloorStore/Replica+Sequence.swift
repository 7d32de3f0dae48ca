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
    /// The most operations folded over one working set: bounds a fold's memory by the batch, never the history.
    static let foldBatchMax = 5_000

    /// Folds operations (sorted in canonical order, all after the fold's last) and writes their projections, in
    /// batches of at most ``foldBatchMax``.
    static func foldForward(
        _ ops: [ShopOperation], decoded: [OperationID: Command] = [:], _ state: inout ReplicaState,
        _ db: any SQLExecutor
    ) throws {
        var start = ops.startIndex
        while start < ops.endIndex {
            let end = min(start + foldBatchMax, ops.endIndex)
            let batch = ops[start..<end].map { op in (op, decoded[op.id] ?? (try? op.command())) }
            _ = try foldBatch(batch, local: false, &state, db)
            start = end
        }
    }

    /// One batch, TigerBeetle's way: prefetch the rows the batch reads, apply it in memory with no I/O, then write
    /// only what changed (plus the append-only ledger and conflict rows). Local batches refuse by throwing a
    /// ``DomainError``; merged ones never refuse. Operations after the sequenced prefix (a device's own unsynced
    /// work, or any not numbered by HQ yet) enter the suffix, and the rows they change keep a before-image.
    static func foldBatch(
        _ batch: [(ShopOperation, Command?)], local: Bool, _ state: inout ReplicaState, _ db: any SQLExecutor
    ) throws -> [FoldStep] {
        let reader = ProjectionReader(db)
        let commands = batch.compactMap(\.1)
        var extraStock: Set<StockKey> = []
        // The prefetch derives stock keys from the orders and catalog; a batch whose fold wrote an entry outside
        // them is run again with those keys added (the fold is pure, so a rerun is exact).
        for _ in 0..<3 {
            let workingSet = try reader.workingSet(for: commands, extraStock: extraStock, cache: &state.cache)
            var fold = Fold(shop: workingSet.shop, last: state.last, count: state.count)
            var suffixStart: (shop: Shop, boundary: Boundary)?
            var steps: [(step: FoldStep, position: Int, suffix: Bool)] = []
            for (op, command) in batch {
                let suffix = op.seq == nil && !state.sequencer
                if suffix, suffixStart == nil {
                    suffixStart = (fold.shop, state.boundary ?? Boundary(last: fold.last, count: fold.count))
                }
                let step: FoldStep
                if local {
                    step = try fold.applyLocal(op, command: command!)
                } else if let command {
                    step = fold.apply(command, op: op)
                } else {
                    step = fold.apply(op)
                }
                steps.append((step, fold.count, suffix))
            }
            var missing: Set<StockKey> = []
            for entry in steps.lazy.flatMap(\.step.entries) {
                let key = StockKey(sku: entry.sku, location: entry.location)
                if !workingSet.stock.contains(key) { missing.insert(key) }
            }
            guard missing.isEmpty else {
                extraStock.formUnion(missing)
                continue
            }
            let writer = ProjectionWriter(db)
            if let suffixStart {
                try writer.write(from: workingSet.shop, to: suffixStart.shop)
                try writer.write(from: suffixStart.shop, to: fold.shop, undoKept: &state.cache.undoKept)
                state.boundary = suffixStart.boundary
            } else {
                try writer.write(from: workingSet.shop, to: fold.shop)
            }
            for ((op, _), (step, position, suffix)) in zip(batch, steps) {
                try writer.append(step, key: op.key, position: position)
                // A device's unsynced suffix only: HQ numbers everything it folds.
                if suffix {
                    try db.execute(Upsert.suffix, op.id.replica, op.id.counter)
                }
            }
            state.last = fold.last
            state.count = fold.count
            state.cache.absorb(fold.shop, stock: workingSet.stock)
            return steps.map(\.step)
        }
        preconditionFailure("the working set of a batch kept missing stock keys")
    }

    /// Undoes the unsequenced suffix: projection rows back to their before-images, the suffix's ledger entries and
    /// conflicts removed, and the fold position back at the boundary. Clocks are kept.
    static func rewind(_ state: inout ReplicaState, _ db: Database) throws {
        guard let boundary = state.boundary else { return }
        let decoder = JSONDecoder()
        let writer = ProjectionWriter(db)
        func decode<T: Decodable>(_ type: T.Type, _ image: String?) throws -> T? {
            try image.map { try decoder.decode(T.self, from: Data($0.utf8)) }
        }
        for row in try Row.fetchAll(db, sql: "SELECT kind, key, image FROM undo") {
            let kind: String = row["kind"]
            let key: String = row["key"]
            let image: String? = row["image"]
            switch kind {
            case "item":
                try db.execute(sql: "DELETE FROM items WHERE sku = ?", arguments: [key])
                if let item = try decode(Item.self, image) { try writer.writeItem(item) }
            case "location":
                try db.execute(sql: "DELETE FROM locations WHERE code = ?", arguments: [key])
                if let location = try decode(Location.self, image) { try writer.writeLocation(location) }
            case "bom":
                try db.execute(sql: "DELETE FROM bom_lines WHERE parent = ?", arguments: [key])
                if let lines = try decode([BOMLine].self, image) { try writer.writeBOM(SKU(key), lines: lines) }
            case "order":
                try writer.deleteOrder(OrderNumber(key))
                if let order = try decode(Order.self, image) { try writer.writeOrder(order, previous: nil) }
            case "stock":
                let parts = try decoder.decode([String].self, from: Data(key.utf8))
                try db.execute(
                    sql: "DELETE FROM stock WHERE location = ? AND sku = ?", arguments: [parts[1], parts[0]])
                if let stock = try decode(StockImage.self, image) {
                    try writer.writeStock(
                        StockKey(sku: SKU(parts[0]), location: parts[1]), valuation: stock.valuation,
                        position: stock.position)
                }
            case "ack":
                try db.execute(sql: "DELETE FROM acknowledgements WHERE conflict = ?", arguments: [key])
                if let ack = try decode(Acknowledgement.self, image) { try writer.writeAcknowledgement(ack) }
            case "field":
                try db.execute(sql: "DELETE FROM field_writes WHERE key = ?", arguments: [key])
                if let write = try decode(FieldWrite.self, image) {
                    try writer.writeField(try ProjectionReader.fieldKey(key), write)
                }
            default:
                preconditionFailure("unknown undo kind \(kind)")
            }
        }
        // CROSS JOIN keeps the suffix the outer loop: left to itself, the planner may scan the whole ledger.
        try db.execute(
            sql: """
                DELETE FROM ledger_refs WHERE (ref, lamport, replica, counter) IN
                    (SELECT DISTINCT l.ref, l.lamport, l.replica, l.counter
                     FROM suffix s CROSS JOIN ops o ON o.replica = s.replica AND o.counter = s.counter
                     CROSS JOIN ledger l ON l.lamport = o.lamport AND l.replica = o.replica AND l.counter = o.counter
                     WHERE l.ref IS NOT NULL)
                """)
        for table in ["ledger", "conflicts"] {
            // By the key's prefix (lamport, replica, counter): the cost is the suffix, not the table.
            try db.execute(
                sql: """
                    DELETE FROM \(table) WHERE (lamport, replica, counter) IN
                        (SELECT o.lamport, o.replica, o.counter FROM suffix s JOIN ops o USING (replica, counter))
                    """)
        }
        try db.execute(sql: "DELETE FROM suffix")
        try db.execute(sql: "DELETE FROM undo")
        // The rows went back to their images outside the fold.
        state.cache = WorkingSetCache()
        state.last = boundary.last
        state.count = boundary.count
        state.boundary = nil
    }

    /// Folds every operation that sorts after the fold's last (after a rewind, or from nothing for a rebuild);
    /// `decoded` holds commands already decoded (the batch just admitted), so their payloads are not read twice.
    static func foldRemaining(
        _ state: inout ReplicaState, _ db: any SQLExecutor, decoded: [OperationID: Command] = [:]
    ) throws {
        var after = state.last?.seq ?? 0
        while true {
            // In chunks, so a long log never sits in memory at once.
            let chunk = try db.rows(
                "SELECT \(Schema.operationColumns) FROM ops WHERE seq > ? ORDER BY seq LIMIT \(foldBatchMax)", after
            ).map(decodeOperation)
            guard let last = chunk.last else { break }
            try foldForward(chunk, decoded: decoded, &state, db)
            after = last.seq!
        }
        let unsequenced = try db.rows(
            "SELECT \(Schema.operationColumns) FROM ops WHERE seq IS NULL ORDER BY lamport, replica, counter"
        ).map(decodeOperation)
        try foldForward(unsequenced, decoded: decoded, &state, db)
    }

    /// The common case of a sync: HQ numbered this device's own unsynced operations in the order the device folded
    /// them, with nothing of anyone else's in between. Then the fold needs no rewind: record the numbers, and when
    /// the whole suffix is numbered, forget its undo images. Returns false (changing nothing) otherwise.
    static func promoteInOrder(
        _ assignments: [OperationID: UInt64], _ state: inout ReplicaState, _ db: Database
    ) throws -> Bool {
        guard !assignments.isEmpty, state.boundary != nil else { return false }
        let sorted = assignments.sorted { $0.value < $1.value }
        let highest = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") ?? 0
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
            state.last = CanonicalKey(
                seq: sorted[sorted.count - 1].value, lamport: last.1, replica: last.0.replica, counter: last.0.counter)
            try db.execute(sql: "DELETE FROM suffix")
            try db.execute(sql: "DELETE FROM undo")
            state.cache.undoKept = []
            state.boundary = nil
        }
        return true
    }

    /// Turns a replica into the sequencer (HQ): numbers any unsequenced operations in canonical order and refolds.
    static func becomeSequencer(_ database: DatabaseQueue) throws {
        try database.write { db in
            guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'sequencer'") != "1" else { return }
            guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'replica_id'") != nil else { return }
            var next = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") ?? 0) + 1
            let unsequenced = try Row.fetchAll(
                db, sql: "SELECT replica, counter FROM ops WHERE seq IS NULL ORDER BY lamport, replica, counter")
            for row in unsequenced {
                try db.execute(
                    sql: "UPDATE ops SET seq = ? WHERE replica = ? AND counter = ?",
                    arguments: [next, row["replica"] as String, row["counter"] as Int64])
                next += 1
            }
            try db.execute(sql: Upsert.meta, arguments: ["sequencer", "1"])
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
        (try? database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") })
            .flatMap { $0 }
            .map { UInt64($0) } ?? 0
    }

    /// True for HQ.
    public var isSequencer: Bool { state.withLock { $0.sequencer } }
}
