import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// The rows a batch reads, as a partial ``Shop``, and the stock keys that were looked up for it.
struct WorkingSet {
    var shop: Shop
    /// Every stock key read (present or known to be absent): a fold that writes an entry outside it was given the
    /// wrong working set.
    var stock: Set<StockKey>
}

/// Reads projection rows into domain values. Prefetch for a batch: the orders and receipts its commands name (with
/// renamed duplicates), the catalog rows an explosion or a cycle check walks, the stock keys the orders can touch,
/// field writes, conflicts and acknowledgements. Nothing else is read, so the cost follows the batch, not the
/// history.
struct ProjectionReader {
    let db: Database

    func workingSet(for commands: [Command], extraStock: Set<StockKey> = []) throws -> WorkingSet {
        var cache = WorkingSetCache()
        return try workingSet(for: commands, extraStock: extraStock, cache: &cache)
    }

    /// The working set, taking what `cache` holds instead of reading it (orders, their field writes, stock rows,
    /// the creation counters); the lookups by name still read the file, since another order or receipt may carry
    /// the name.
    func workingSet(
        for commands: [Command], extraStock: Set<StockKey> = [], cache: inout WorkingSetCache
    ) throws -> WorkingSet {
        var keys = WorkingSetKeys(commands)
        var orderNumbers = Set<OrderNumber>()
        for number in keys.orders { orderNumbers.formUnion(try numbers(named: number)) }
        var voidedReceipts = Set<String>()
        for id in keys.receipts {
            for (receipt, order) in try receipts(named: id) {
                orderNumbers.insert(order)
                if keys.voided.contains(id) { voidedReceipts.insert(receipt) }
            }
        }
        var orders: [Order] = []
        var fieldWrites: [FieldKey: FieldWrite] = [:]
        for number in orderNumbers.sorted() {
            var order: Order
            if let cached = cache.orders[number] {
                order = cached.order
                fieldWrites.merge(cached.fields) { $1 }
            } else {
                guard let loaded = try self.order(number) else { continue }
                order = loaded
                for (key, write) in try self.fieldWrites(prefix: FieldKey.orderPrefix(number)) {
                    fieldWrites[key] = write
                }
            }
            for index in order.receipts.indices where voidedReceipts.contains(order.receipts[index].id) {
                try loadEntries(&order.receipts[index])
            }
            var skus = order.lines.map(\.sku) + order.inputs.map(\.sku)
            if order.status == .draft {
                // Enter explodes the lines against the catalog as it is now.
                keys.subtrees.formUnion(order.lines.map(\.sku))
            }
            for receipt in order.receipts { skus += receipt.lines.map(\.sku) }
            skus += keys.orderSKUs
            for location in order.locations {
                for sku in skus { keys.stock.insert(StockKey(sku: sku, location: location)) }
                keys.locations.insert(location)
            }
            orders.append(order)
        }
        var catalog = CatalogRows()
        try catalog.loadSubtrees(keys.subtrees.sorted(), db)
        for created in keys.created {
            for sku in created.skus + created.skus.flatMap({ catalog.subtree($0) }) + keys.orderSKUs {
                for location in created.locations { keys.stock.insert(StockKey(sku: sku, location: location)) }
            }
        }
        for order in orders where order.status == .draft {
            for line in order.lines {
                for sku in catalog.subtree(line.sku) {
                    for location in order.locations { keys.stock.insert(StockKey(sku: sku, location: location)) }
                }
            }
        }
        keys.stock.formUnion(extraStock)
        for sku in keys.items.sorted() { try catalog.loadItem(sku, db) }
        for code in keys.locations.sorted() { try catalog.loadLocation(code, db) }

        for key in keys.fields { if let write = try fieldWrite(key) { fieldWrites[key] = write } }
        var missing = Set<StockKey>()
        var valuations: [StockKey: Valuation] = [:]
        var positions: [StockKey: Position] = [:]
        for key in keys.stock {
            guard let cached = cache.stock[key] else {
                missing.insert(key)
                continue
            }
            valuations[key] = cached.valuation
            positions[key] = cached.position
        }
        if !missing.isEmpty {
            let loaded = try stock(missing)
            valuations.merge(loaded.valuations) { $1 }
            positions.merge(loaded.positions) { $1 }
        }
        var conflicts: [Conflict] = []
        var acknowledgements: [Acknowledgement] = []
        for id in keys.conflicts.sorted() {
            if let conflict = try conflict(id) { conflicts.append(conflict) }
            if let ack = try acknowledgement(id) { acknowledgements.append(ack) }
        }
        let ordersCreated = try cache.ordersCreated ?? nextCreationIndex("orders")
        let receiptsCreated = try cache.receiptsCreated ?? nextCreationIndex("receipts")
        cache.learnCounters(orders: ordersCreated, receipts: receiptsCreated)
        let shop = Shop(
            catalog: catalog.catalog, orders: orders,
            valuations: valuations, positions: positions, conflicts: conflicts, acknowledgements: acknowledgements,
            fieldWrites: fieldWrites, ordersCreated: ordersCreated, receiptsCreated: receiptsCreated)
        return WorkingSet(shop: shop, stock: keys.stock)
    }

    /// The whole domain state (tests, the simulator's checks, snapshots): every row.
    func wholeShop() throws -> Shop {
        var catalog = CatalogRows()
        for row in try Row.fetchAll(db, sql: "SELECT sku, kind, unit, name FROM items") {
            catalog.items[row["sku"]] = Self.item(row)
        }
        for row in try Row.fetchAll(db, sql: "SELECT code, name FROM locations") {
            catalog.locations[row["code"]] = Location(code: row["code"], name: row["name"])
        }
        for row in try Row.fetchAll(db, sql: "SELECT parent, child, quantity FROM bom_lines ORDER BY parent, child") {
            catalog.boms[row["parent"], default: []].append(
                BOMLine(sku: row["child"], quantity: try StoredAmount.amount(row["quantity"])))
        }
        var orders: [Order] = []
        for number in try OrderNumber.fetchAll(db, sql: "SELECT number FROM orders ORDER BY number") {
            guard var order = try order(number) else { continue }
            // The whole state, receipts' entries too: a void applied to it reverses what the receipt wrote.
            for index in order.receipts.indices { try loadEntries(&order.receipts[index]) }
            orders.append(order)
        }
        var valuations: [StockKey: Valuation] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM valuations") {
            valuations[StockKey(sku: row["sku"], location: row["location"])] = try Self.valuation(row)
        }
        var positions: [StockKey: Position] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM positions") {
            let position = try Self.position(row)
            positions[StockKey(sku: position.sku, location: position.location)] = position
        }
        let conflicts = try Row.fetchAll(db, sql: "SELECT * FROM conflicts ORDER BY position, idx").map(Self.conflict)
        let acknowledgements = try Row.fetchAll(db, sql: "SELECT * FROM acknowledgements").map(Self.acknowledgement)
        var fieldWrites: [FieldKey: FieldWrite] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT * FROM field_writes") {
            fieldWrites[try Self.fieldKey(row["key"])] = try Self.fieldWrite(row)
        }
        return Shop(
            catalog: catalog.catalog, orders: orders,
            valuations: valuations, positions: positions, conflicts: conflicts, acknowledgements: acknowledgements,
            fieldWrites: fieldWrites, ordersCreated: try nextCreationIndex("orders"),
            receiptsCreated: try nextCreationIndex("receipts"))
    }

    // MARK: Orders and receipts

    /// The order called `number` and every renamed duplicate that asked for it (rule 7).
    func numbers(named number: OrderNumber) throws -> [OrderNumber] {
        try OrderNumber.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT number FROM orders WHERE number = ?1 UNION SELECT number FROM orders WHERE requested_number = ?1"
            ), arguments: [number])
    }

    /// The receipt called `id` and its renamed duplicates, each with its order.
    func receipts(named id: String) throws -> [(String, OrderNumber)] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT id, order_number FROM receipts WHERE id = ?1
                    UNION SELECT id, order_number FROM receipts WHERE requested_id = ?1
                    """), arguments: [id]
        ).map { ($0["id"], $0["order_number"]) }
    }

    /// One order with its lines, inputs and receipts (without their ledger entries).
    func order(_ number: OrderNumber) throws -> Order? {
        // Columns by index (by name costs a case-insensitive search per value): every query names its columns.
        guard
            let header = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT kind, location, due, notes, tolerance, status, created_by, requested_number, closed_by,
                            creation_index, wip, fg, backflush FROM orders WHERE number = ?
                        """), arguments: [number])
        else { return nil }
        var lines: [OrderLine] = []
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT sku, quantity, unit_cost, produced, on_order, lost FROM order_lines WHERE order_number = ?
                    ORDER BY idx
                    """), arguments: [number])
        {
            var line = OrderLine(
                sku: row[0], quantity: try StoredAmount.amount(row[1]),
                unitCost: try StoredAmount.optionalAmount(row[2]))
            line.produced = try StoredAmount.amount(row[3])
            line.onOrder = try StoredAmount.amount(row[4])
            line.lost = try StoredAmount.optionalAmount(row[5]) ?? .zero
            lines.append(line)
        }
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT line_idx, sku, quantity, consumed FROM line_inputs WHERE order_number = ? ORDER BY line_idx, idx"
            ), arguments: [number])
        {
            let index: Int = row[0]
            guard lines.indices.contains(index) else { continue }
            let sku: SKU = row[1]
            lines[index].inputs.append(BOMLine(sku: sku, quantity: try StoredAmount.amount(row[2])))
            let consumed = try StoredAmount.amount(row[3])
            if !consumed.isZero { lines[index].consumed[sku] = consumed }
        }
        var order = Order(
            number: number, kind: OrderKind(rawValue: header[0]) ?? .work, location: header[1], due: header[2],
            notes: header[3], tolerancePercent: try StoredAmount.amount(header[4]), lines: lines)
        order.status = OrderStatus(rawValue: header[5]) ?? .draft
        order.createdBy = header[6]
        order.requestedNumber = header[7]
        order.closedBy = header[8]
        order.creationIndex = header[9]
        order.wip = header[10]
        order.fg = header[11]
        order.backflush = (header[12] as String?).flatMap(BackflushBasis.init(rawValue:))
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT sku, required, demand, allocated, transferred, scrapped FROM order_inputs
                    WHERE order_number = ?
                    ORDER BY sku
                    """),
            arguments: [number])
        {
            var input = InputCommitment(sku: row[0], required: try StoredAmount.amount(row[1]))
            input.demand = try StoredAmount.amount(row[2])
            input.allocated = try StoredAmount.amount(row[3])
            input.transferred = try StoredAmount.optionalAmount(row[4]) ?? .zero
            input.scrapped = try StoredAmount.optionalAmount(row[5]) ?? .zero
            order.inputs.append(input)
        }
        order.transfers = try String.fetchAll(
            db.cachedStatement(sql: "SELECT operation FROM order_transfers WHERE order_number = ? ORDER BY idx"),
            arguments: [number])
        var receiptLines: [String: [BOMLine]] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT l.receipt_id, l.sku, l.quantity FROM receipt_lines l JOIN receipts r ON r.id = l.receipt_id
                    WHERE r.order_number = ? ORDER BY l.receipt_id, l.idx
                    """), arguments: [number])
        {
            receiptLines[row[0], default: []].append(BOMLine(sku: row[1], quantity: try StoredAmount.amount(row[2])))
        }
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT id, date, voided, voided_by, creation_index, operation, requested_id FROM receipts
                    WHERE order_number = ? ORDER BY creation_index, id
                    """), arguments: [number])
        {
            let id: String = row[0]
            var receipt = Receipt(id: id, order: number, date: row[1], lines: receiptLines[id] ?? [])
            receipt.voided = row[2]
            receipt.voidedBy = row[3]
            receipt.creationIndex = row[4]
            receipt.operation = row[5]
            receipt.requestedID = row[6]
            order.receipts.append(receipt)
        }
        return order
    }

    /// A receipt's ledger entries, found by the operation that recorded it.
    func loadEntries(_ receipt: inout Receipt) throws {
        guard let operation = receipt.operation.flatMap(OperationID.init) else { return }
        var entries: [LedgerEntry] = []
        var lines: [SKU] = []
        let arguments: StatementArguments = [operation.replica, Int64(operation.counter)]
        guard
            let lamport = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT lamport FROM ops WHERE replica = ? AND counter = ?"),
                arguments: arguments)
        else { return }
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT * FROM ledger WHERE lamport = ? AND replica = ? AND counter = ? ORDER BY idx"),
            arguments: [lamport, operation.replica, Int64(operation.counter)])
        {
            entries.append(try Self.entry(row, operation: receipt.operation!))
            lines.append(row["line"] ?? receipt.lines.first?.sku ?? "")
        }
        receipt.entries = entries
        receipt.entryLines = lines
    }

    func nextCreationIndex(_ table: String) throws -> Int {
        (try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(creation_index) FROM \(table)")) ?? -1) + 1
    }

    // MARK: Rows

    /// The valuations and positions of `keys`, in one query (a point query per key costs more in
    /// statement overhead than in SQLite's lookups).
    func stock(_ keys: Set<StockKey>) throws -> (valuations: [StockKey: Valuation], positions: [StockKey: Position]) {
        var valuations: [StockKey: Valuation] = [:]
        var positions: [StockKey: Position] = [:]
        guard !keys.isEmpty else { return (valuations, positions) }
        let list = try ProjectionWriter.stockKeyList(keys)
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT s.sku, s.location, s.quantity, s.value, s.last_rate, s.on_hand, s.on_order, s.demand,
                        s.allocated, s.position_value
                    FROM json_each(?) k JOIN stock s ON s.location = k.value ->> 1 AND s.sku = k.value ->> 0
                    """), arguments: [list])
        {
            let key = StockKey(sku: row[0], location: row[1])
            if let quantity = try StoredAmount.optionalAmount(row[2]) {
                valuations[key] = Valuation(
                    quantity: quantity, value: try StoredAmount.amount(row[3]),
                    lastRate: try StoredAmount.amount(row[4]))
            }
            if let onHand = try StoredAmount.optionalAmount(row[5]) {
                var position = Position(sku: key.sku, location: key.location)
                position.onHand = onHand
                position.onOrder = try StoredAmount.amount(row[6])
                position.demand = try StoredAmount.amount(row[7])
                position.allocated = try StoredAmount.amount(row[8])
                position.value = try StoredAmount.amount(row[9])
                positions[key] = position
            }
        }
        return (valuations, positions)
    }

    func fieldWrite(_ key: FieldKey) throws -> FieldWrite? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM field_writes WHERE key = ?"), arguments: [key.rawValue]
        ).map(Self.fieldWrite)
    }

    /// A stored field key; one this build cannot read means the file was written by something else.
    static func fieldKey(_ text: String) throws -> FieldKey {
        guard let key = FieldKey(rawValue: text) else { throw StoredFieldKeyError(key: text) }
        return key
    }

    func fieldWrites(prefix: String) throws -> [(FieldKey, FieldWrite)] {
        // Every key with this prefix sorts between the prefix and the prefix with its last character raised.
        let upper = String(prefix.dropLast()) + ";"
        return try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM field_writes WHERE key >= ? AND key < ?"),
            arguments: [prefix, upper]
        ).map { (try Self.fieldKey($0["key"]), try Self.fieldWrite($0)) }
    }

    func conflict(_ id: String) throws -> Conflict? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM conflicts WHERE id = ?"), arguments: [id])
            .map(Self.conflict)
    }

    func acknowledgement(_ id: String) throws -> Acknowledgement? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM acknowledgements WHERE conflict = ?"), arguments: [id])
            .map(Self.acknowledgement)
    }

    static func item(_ row: Row) -> Item {
        Item(sku: row["sku"], kind: ItemKind(rawValue: row["kind"]) ?? .material, unit: row["unit"], name: row["name"])
    }

    static func valuation(_ row: Row) throws -> Valuation {
        Valuation(
            quantity: try StoredAmount.amount(row["quantity"]), value: try StoredAmount.amount(row["value"]),
            lastRate: try StoredAmount.amount(row["last_rate"]))
    }

    static func position(_ row: Row) throws -> Position {
        var position = Position(sku: row["sku"], location: row["location"])
        position.onHand = try StoredAmount.amount(row["on_hand"])
        position.onOrder = try StoredAmount.amount(row["on_order"])
        position.demand = try StoredAmount.amount(row["demand"])
        position.allocated = try StoredAmount.amount(row["allocated"])
        position.value = try StoredAmount.amount(row["value"])
        return position
    }

    static func entry(_ row: Row, operation: String) throws -> LedgerEntry {
        LedgerEntry(
            sku: row["sku"], location: row["location"], event: LedgerEvent(rawValue: row["event"]) ?? .adjust,
            quantity: try StoredAmount.amount(row["quantity"]),
            unitCost: try StoredAmount.optionalAmount(row["unit_cost"]),
            value: try StoredAmount.optionalAmount(row["value"]), relieved: try StoredAmount.amount(row["relieved"]),
            ref: row["ref"], date: row["date"], operation: operation)
    }

    static func conflict(_ row: Row) throws -> Conflict {
        var conflict = Conflict(
            kind: Conflict.Kind(rawValue: row["kind"]) ?? .refusedOperation, subject: row["subject"], trigger: "",
            operations: try JSONDecoder().decode([String].self, from: Data((row["operations"] as String).utf8)),
            outcome: row["outcome"], explanation: row["explanation"])
        conflict.id = row["id"]
        return conflict
    }

    static func acknowledgement(_ row: Row) -> Acknowledgement {
        Acknowledgement(conflict: row["conflict"], operation: row["operation"], note: row["note"], date: row["date"])
    }

    static func fieldWrite(_ row: Row) throws -> FieldWrite {
        let rivals: String = row["rivals"]
        return FieldWrite(
            operation: row["operation"], value: row["value"],
            rivals: rivals.isEmpty ? [] : try JSONDecoder().decode([FieldWrite].self, from: Data(rivals.utf8)))
    }
}

/// A stored field-write key that names no field.
struct StoredFieldKeyError: Error, CustomStringConvertible {
    var key: String
    var description: String { "field_writes holds the key '\(key)', which names no editable field" }
}

/// Catalog rows gathered for a working set.
struct CatalogRows {
    var items: [SKU: Item] = [:]
    var locations: [String: Location] = [:]
    var boms: [SKU: [BOMLine]] = [:]
    /// SKUs whose subtree is loaded.
    private var loadedSubtrees: Set<SKU> = []
    private var checkedItems: Set<SKU> = []
    private var checkedLocations: Set<String> = []

    var catalog: Catalog {
        Catalog(items: Array(items.values), locations: Array(locations.values), boms: boms)
    }

    /// The SKUs below `sku` in the loaded BOMs (and `sku` itself).
    func subtree(_ sku: SKU) -> [SKU] {
        var seen: Set<SKU> = [sku]
        var stack = [sku]
        while let next = stack.popLast() {
            for line in boms[next] ?? [] where seen.insert(line.sku).inserted { stack.append(line.sku) }
        }
        return seen.sorted()
    }

    mutating func loadSubtree(_ sku: SKU, _ db: Database) throws {
        try loadSubtrees([sku], db)
    }

    /// Every BOM line below the given SKUs, in one recursive query, and the items of every SKU met.
    mutating func loadSubtrees(_ roots: [SKU], _ db: Database) throws {
        let roots = roots.filter { !loadedSubtrees.contains($0) }
        guard !roots.isEmpty else { return }
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    WITH RECURSIVE tree(sku) AS (
                        SELECT value FROM json_each(?1)
                        UNION SELECT b.child FROM bom_lines b JOIN tree t ON b.parent = t.sku
                    )
                    SELECT b.parent, b.child, b.quantity FROM bom_lines b WHERE b.parent IN (SELECT sku FROM tree)
                        ORDER BY b.parent, b.child
                    """), arguments: [try ProjectionWriter.json(roots)])
        var parents: Set<SKU> = []
        var skus = Set(roots)
        for row in rows {
            let parent: SKU = row["parent"]
            let child: SKU = row["child"]
            skus.formUnion([parent, child])
            if parents.insert(parent).inserted, boms[parent] != nil { boms[parent] = [] }
            boms[parent, default: []].append(BOMLine(sku: child, quantity: try StoredAmount.amount(row["quantity"])))
        }
        for sku in skus.sorted() {
            loadedSubtrees.insert(sku)
            try loadItem(sku, db)
        }
    }

    mutating func loadItem(_ sku: SKU, _ db: Database) throws {
        guard checkedItems.insert(sku).inserted else { return }
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT sku, kind, unit, name FROM items WHERE sku = ?"), arguments: [sku])
        {
            items[sku] = ProjectionReader.item(row)
        }
    }

    mutating func loadLocation(_ code: String, _ db: Database) throws {
        guard checkedLocations.insert(code).inserted else { return }
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT code, name FROM locations WHERE code = ?"), arguments: [code])
        {
            locations[code] = Location(code: code, name: row["name"])
        }
    }
}
