import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

extension Replica {
    static func documentEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try documentEncoder().encode(value), as: UTF8.self)
    }

    static func insert(_ op: ShopOperation, arrival: Int64, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO ops (replica, counter, lamport, context, timestamp, date, kind, payload, schema, arrival, seq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            op.id.replica, Int64(op.id.counter), Int64(op.lamport), try json(op.context), op.timestamp, op.date,
            op.kind, op.payload, op.schema, arrival, op.seq.map { Int64($0) },
        ])
    }

    static func saveClocks(_ state: ReplicaState, _ db: Database) throws {
        let upsertMeta = try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        try upsertMeta.execute(arguments: ["lamport", "\(state.lamport)"])
        try upsertMeta.execute(arguments: ["folded_count", "\(state.fold.count)"])
        if let last = state.fold.last {
            try upsertMeta.execute(arguments: ["folded_key", try json(last)])
        }
        if let boundary = state.boundary {
            try upsertMeta.execute(arguments: ["boundary", try json(boundary)])
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'boundary'")
        }
        let upsertVector = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO version_vector (replica, counter) VALUES (?, ?)")
        for (replica, counter) in state.vector.counters {
            try upsertVector.execute(arguments: [replica, Int64(counter)])
        }
    }

    /// Writes what one folded operation changed. With `stateRows` false only the append-only rows (ledger,
    /// rejections) are written; the caller writes the state rows once at the end (rebuild).
    static func write(_ step: FoldStep, key: CanonicalKey, fold: Fold, stateRows: Bool, _ db: Database) throws {
        for (index, conflict) in step.conflicts.enumerated() {
            try db.cachedStatement(
                sql: """
                    INSERT INTO conflicts (id, lamport, replica, counter, idx, kind, subject, operations, outcome,
                        explanation, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                conflict.id, Int64(key.lamport), key.replica, Int64(key.counter), index, conflict.kind.rawValue,
                conflict.subject, try json(conflict.operations), conflict.outcome, conflict.explanation, fold.count,
            ])
        }
        let insertEntry = try db.cachedStatement(
            sql: """
                INSERT INTO ledger (lamport, replica, counter, idx, sku, location, event, quantity, unit_cost, value,
                    relieved, ref, date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (index, entry) in step.entries.enumerated() {
            try insertEntry.execute(arguments: [
                Int64(key.lamport), key.replica, Int64(key.counter), index, entry.sku, entry.location,
                entry.event.rawValue, entry.quantity.description, entry.unitCost?.description, entry.value?.description,
                entry.relieved.description, entry.ref, entry.date,
            ])
        }
        guard stateRows else { return }
        let shop = fold.shop
        for sku in step.touched.items { if let item = shop.catalog.items[sku] { try writeItem(item, db) } }
        for code in step.touched.locations {
            if let location = shop.catalog.locations[code] { try writeLocation(location, db) }
        }
        for parent in step.touched.boms { try writeBOM(parent, lines: shop.catalog.boms[parent] ?? [], db) }
        for number in step.touched.orders { if let order = shop.orders[number] { try writeOrder(order, db) } }
        for key in step.touched.stock { try writeStock(key, shop: shop, db) }
        for conflict in step.touched.acknowledgements {
            if let ack = shop.acknowledgements[conflict] { try writeAcknowledgement(ack, db) }
        }
        for field in step.touched.fields {
            if let write = shop.fieldWrites[field] { try writeField(field, write, db) }
        }
    }

    static func writeAcknowledgement(_ ack: Acknowledgement, _ db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO acknowledgements (conflict, operation, note, date) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [ack.conflict, ack.operation, ack.note, ack.date])
    }

    static func writeField(_ key: String, _ write: FieldWrite, _ db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO field_writes (key, operation, value, rivals) VALUES (?, ?, ?, ?)"
        ).execute(arguments: [key, write.operation, write.value, write.rivals.isEmpty ? "" : try json(write.rivals)])
    }

    static func writeItem(_ item: Item, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO items (sku, kind, unit, name) VALUES (?, ?, ?, ?)")
            .execute(arguments: [item.sku, item.kind.rawValue, item.unit, item.name])
    }

    static func writeLocation(_ location: Location, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO locations (code, name) VALUES (?, ?)")
            .execute(arguments: [location.code, location.name])
    }

    static func writeBOM(_ parent: String, lines: [BOMLine], _ db: Database) throws {
        try db.execute(sql: "DELETE FROM bom_lines WHERE parent = ?", arguments: [parent])
        for line in lines {
            try db.cachedStatement(sql: "INSERT INTO bom_lines (parent, child, quantity) VALUES (?, ?, ?)")
                .execute(arguments: [parent, line.sku, line.quantity.description])
        }
    }

    static func writeOrder(_ order: Order, _ db: Database) throws {
        try db.cachedStatement(
            sql:
                "INSERT OR REPLACE INTO orders (number, kind, location, status, due, document) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [
            order.number, order.kind.rawValue, order.location, order.status.rawValue, order.due, try json(order),
        ])
        for receipt in order.receipts {
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO receipts (id, order_number, date, voided, lines) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [receipt.id, order.number, receipt.date, receipt.voided, try json(receipt.lines)])
        }
    }

    static func writeStock(_ key: StockKey, shop: Shop, _ db: Database) throws {
        let valuation = shop.valuation(sku: key.sku, location: key.location)
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO valuations (sku, location, quantity, value, last_rate) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            key.sku, key.location, valuation.quantity.description, valuation.value.description,
            valuation.lastRate.description,
        ])
        let position = shop.position(sku: key.sku, location: key.location)
        try db.cachedStatement(
            sql: """
                INSERT OR REPLACE INTO positions (sku, location, on_hand, on_order, demand, allocated, value)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            key.sku, key.location, position.onHand.description, position.onOrder.description,
            position.demand.description, position.allocated.description, position.value.description,
        ])
    }

    /// Writes every state row of `fold` (after a rebuild).
    static func writeAllState(_ fold: Fold, _ db: Database) throws {
        let shop = fold.shop
        for item in shop.catalog.items.values.sorted(by: { $0.sku < $1.sku }) { try writeItem(item, db) }
        for location in shop.catalog.locations.values.sorted(by: { $0.code < $1.code }) {
            try writeLocation(location, db)
        }
        for (parent, lines) in shop.catalog.boms.sorted(by: { $0.key < $1.key }) {
            try writeBOM(parent, lines: lines, db)
        }
        for order in shop.orders.values.sorted(by: { $0.number < $1.number }) { try writeOrder(order, db) }
        for key in Set(shop.valuations.keys).union(shop.positions.keys).sorted() { try writeStock(key, shop: shop, db) }
        for ack in shop.acknowledgements.values.sorted(by: { $0.conflict < $1.conflict }) {
            try writeAcknowledgement(ack, db)
        }
        for (key, write) in shop.fieldWrites.sorted(by: { $0.key < $1.key }) { try writeField(key, write, db) }
    }

    // MARK: Loading

    static func decodeAmount(_ text: String) throws -> Amount { try Amount(parsing: text) }

    static func loadState(_ db: Database) throws -> ReplicaState {
        let decoder = JSONDecoder()
        let items = try Row.fetchAll(db, sql: "SELECT sku, kind, unit, name FROM items").map { row in
            Item(
                sku: row["sku"], kind: ItemKind(rawValue: row["kind"]) ?? .material, unit: row["unit"],
                name: row["name"])
        }
        let locations = try Row.fetchAll(db, sql: "SELECT code, name FROM locations").map { row in
            Location(code: row["code"], name: row["name"])
        }
        var boms: [String: [BOMLine]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT parent, child, quantity FROM bom_lines") {
            boms[row["parent"], default: []].append(
                BOMLine(sku: row["child"], quantity: try decodeAmount(row["quantity"])))
        }
        let orders = try String.fetchAll(db, sql: "SELECT document FROM orders").map { document in
            try decoder.decode(Order.self, from: Data(document.utf8))
        }
        var valuations: [StockKey: Valuation] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM valuations") {
            valuations[StockKey(sku: row["sku"], location: row["location"])] = Valuation(
                quantity: try decodeAmount(row["quantity"]), value: try decodeAmount(row["value"]),
                lastRate: try decodeAmount(row["last_rate"]))
        }
        var positions: [StockKey: Position] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM positions") {
            var position = Position(sku: row["sku"], location: row["location"])
            position.onHand = try decodeAmount(row["on_hand"])
            position.onOrder = try decodeAmount(row["on_order"])
            position.demand = try decodeAmount(row["demand"])
            position.allocated = try decodeAmount(row["allocated"])
            position.value = try decodeAmount(row["value"])
            positions[StockKey(sku: position.sku, location: position.location)] = position
        }
        let conflicts = try Row.fetchAll(db, sql: "SELECT * FROM conflicts ORDER BY position, idx").map {
            row in
            var conflict = Conflict(
                kind: Conflict.Kind(rawValue: row["kind"]) ?? .refusedOperation, subject: row["subject"], trigger: "",
                operations: try decoder.decode([String].self, from: Data((row["operations"] as String).utf8)),
                outcome: row["outcome"], explanation: row["explanation"])
            conflict.id = row["id"]
            return conflict
        }
        let acknowledgements = try Row.fetchAll(db, sql: "SELECT * FROM acknowledgements").map { row in
            Acknowledgement(
                conflict: row["conflict"], operation: row["operation"], note: row["note"], date: row["date"])
        }
        var fieldWrites: [String: FieldWrite] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM field_writes") {
            let rivals: String = row["rivals"]
            fieldWrites[row["key"]] = FieldWrite(
                operation: row["operation"], value: row["value"],
                rivals: rivals.isEmpty ? [] : try decoder.decode([FieldWrite].self, from: Data(rivals.utf8)))
        }
        let meta = Dictionary(
            try Row.fetchAll(db, sql: "SELECT key, value FROM meta").map {
                ($0["key"] as String, $0["value"] as String)
            },
            uniquingKeysWith: { $1 })
        let last = try meta["folded_key"].map { try decoder.decode(CanonicalKey.self, from: Data($0.utf8)) }
        let fold = Fold(
            shop: Shop(
                catalog: Catalog(items: items, locations: locations, boms: boms), orders: orders,
                valuations: valuations, positions: positions, conflicts: conflicts, acknowledgements: acknowledgements,
                fieldWrites: fieldWrites),
            last: last, count: Int(meta["folded_count"] ?? "0") ?? 0)
        var vector = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT replica, counter FROM version_vector") {
            vector[row["replica"]] = UInt64(row["counter"] as Int64)
        }
        let arrival = try Int64.fetchOne(db, sql: "SELECT MAX(arrival) FROM ops") ?? 0
        let maxSeq = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops") ?? 0
        return ReplicaState(
            fold: fold, vector: vector, lamport: UInt64(meta["lamport"] ?? "0") ?? 0, arrival: arrival,
            orderSequence: Int(meta["order_sequence"] ?? "0") ?? 0, sequencer: meta["sequencer"] == "1",
            nextSeq: UInt64(maxSeq) + 1,
            boundary: try meta["boundary"].map { try decoder.decode(Boundary.self, from: Data($0.utf8)) },
            dataVersion: try dataVersion(db))
    }

    static func decodeOperation(_ row: Row) throws -> ShopOperation {
        ShopOperation(
            id: OperationID(replica: row["replica"], counter: UInt64(row["counter"] as Int64)),
            lamport: UInt64(row["lamport"] as Int64),
            context: try JSONDecoder().decode(VersionVector.self, from: Data((row["context"] as String).utf8)),
            timestamp: row["timestamp"], date: row["date"], kind: row["kind"], payload: row["payload"],
            schema: row["schema"], seq: (row["seq"] as Int64?).map { UInt64($0) })
    }
}
