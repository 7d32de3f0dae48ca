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
    let sql: any SQLExecutor

    init(_ sql: any SQLExecutor) {
        self.sql = sql
    }

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
        try catalog.loadSubtrees(keys.subtrees.sorted(), sql)
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
        for sku in keys.items.sorted() { try catalog.loadItem(sku, sql) }
        for code in keys.locations.sorted() { try catalog.loadLocation(code, sql) }

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
        for row in try sql.rows("SELECT sku, kind, unit, name FROM items") {
            let item = try Self.item(row)
            catalog.items[item.sku] = item
        }
        for row in try sql.rows("SELECT code, name FROM locations") {
            let code = try row[0].string()
            catalog.locations[code] = Location(code: code, name: try row[1].string())
        }
        for row in try sql.rows("SELECT parent, child, quantity FROM bom_lines ORDER BY parent, child") {
            catalog.boms[try row[0].code(), default: []].append(
                BOMLine(sku: try row[1].code(), quantity: try row[2].amount()))
        }
        var orders: [Order] = []
        for row in try sql.rows("SELECT number FROM orders ORDER BY number") {
            guard var order = try order(try row[0].code()) else { continue }
            // The whole state, receipts' entries too: a void applied to it reverses what the receipt wrote.
            for index in order.receipts.indices { try loadEntries(&order.receipts[index]) }
            orders.append(order)
        }
        var valuations: [StockKey: Valuation] = [:]
        for row in try sql.rows("SELECT * FROM valuations") {
            valuations[StockKey(sku: try row["sku"].code(), location: try row["location"].string())] =
                try Self.valuation(row)
        }
        var positions: [StockKey: Position] = [:]
        for row in try sql.rows("SELECT * FROM positions") {
            let position = try Self.position(row)
            positions[StockKey(sku: position.sku, location: position.location)] = position
        }
        let conflicts = try sql.rows("SELECT * FROM conflicts ORDER BY position, idx").map(Self.conflict)
        let acknowledgements = try sql.rows("SELECT * FROM acknowledgements").map(Self.acknowledgement)
        var fieldWrites: [FieldKey: FieldWrite] = [:]
        for row in try sql.rows("SELECT * FROM field_writes") {
            fieldWrites[try Self.fieldKey(try row["key"].string())] = try Self.fieldWrite(row)
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
        try sql.rows(
            "SELECT number FROM orders WHERE number = ?1 UNION SELECT number FROM orders WHERE requested_number = ?1",
            number
        ).map { try $0[0].code() }
    }

    /// The receipt called `id` and its renamed duplicates, each with its order.
    func receipts(named id: String) throws -> [(String, OrderNumber)] {
        try sql.rows(
            """
            SELECT id, order_number FROM receipts WHERE id = ?1
            UNION SELECT id, order_number FROM receipts WHERE requested_id = ?1
            """, id
        ).map { (try $0[0].string(), try $0[1].code()) }
    }

    /// One order with its lines, inputs and receipts (without their ledger entries).
    func order(_ number: OrderNumber) throws -> Order? {
        // Columns by index (by name costs a case-insensitive search per value): every query names its columns.
        guard
            let header = try sql.row(
                """
                SELECT kind, location, due, notes, tolerance, status, created_by, requested_number, closed_by,
                    creation_index, wip, fg, backflush FROM orders WHERE number = ?
                """, number)
        else { return nil }
        var lines: [OrderLine] = []
        for row in try sql.rows(
            """
            SELECT sku, quantity, unit_cost, produced, on_order, lost FROM order_lines WHERE order_number = ?
            ORDER BY idx
            """, number)
        {
            var line = OrderLine(
                sku: try row[0].code(), quantity: try row[1].amount(), unitCost: try row[2].optionalAmount())
            line.produced = try row[3].amount()
            line.onOrder = try row[4].amount()
            line.lost = try row[5].optionalAmount() ?? .zero
            lines.append(line)
        }
        for row in try sql.rows(
            "SELECT line_idx, sku, quantity, consumed FROM line_inputs WHERE order_number = ? ORDER BY line_idx, idx",
            number)
        {
            let index = try row[0].int()
            guard lines.indices.contains(index) else { continue }
            let sku: SKU = try row[1].code()
            lines[index].inputs.append(BOMLine(sku: sku, quantity: try row[2].amount()))
            let consumed = try row[3].amount()
            if !consumed.isZero { lines[index].consumed[sku] = consumed }
        }
        var order = Order(
            number: number, kind: OrderKind(rawValue: try header[0].string()) ?? .work,
            location: try header[1].string(), due: try header[2].optionalString(),
            notes: try header[3].string(), tolerancePercent: try header[4].amount(), lines: lines)
        order.status = OrderStatus(rawValue: try header[5].string()) ?? .draft
        order.createdBy = try header[6].optionalString()
        order.requestedNumber = try header[7].optionalCode(OrderNumber.self)
        order.closedBy = try header[8].optionalString()
        order.creationIndex = try header[9].optionalInt()
        order.wip = try header[10].optionalString()
        order.fg = try header[11].optionalString()
        order.backflush = try header[12].optionalString().flatMap(BackflushBasis.init(rawValue:))
        for row in try sql.rows(
            """
            SELECT sku, required, demand, allocated, transferred, scrapped FROM order_inputs
            WHERE order_number = ?
            ORDER BY sku
            """, number)
        {
            var input = InputCommitment(sku: try row[0].code(), required: try row[1].amount())
            input.demand = try row[2].amount()
            input.allocated = try row[3].amount()
            input.transferred = try row[4].optionalAmount() ?? .zero
            input.scrapped = try row[5].optionalAmount() ?? .zero
            order.inputs.append(input)
        }
        order.transfers = try sql.rows(
            "SELECT operation FROM order_transfers WHERE order_number = ? ORDER BY idx", number
        ).map { try $0[0].string() }
        var receiptLines: [String: [BOMLine]] = [:]
        for row in try sql.rows(
            """
            SELECT l.receipt_id, l.sku, l.quantity FROM receipt_lines l JOIN receipts r ON r.id = l.receipt_id
            WHERE r.order_number = ? ORDER BY l.receipt_id, l.idx
            """, number)
        {
            receiptLines[try row[0].string(), default: []].append(
                BOMLine(sku: try row[1].code(), quantity: try row[2].amount()))
        }
        for row in try sql.rows(
            """
            SELECT id, date, voided, voided_by, creation_index, operation, requested_id FROM receipts
            WHERE order_number = ? ORDER BY creation_index, id
            """, number)
        {
            let id = try row[0].string()
            var receipt = Receipt(id: id, order: number, date: try row[1].string(), lines: receiptLines[id] ?? [])
            receipt.voided = try row[2].bool()
            receipt.voidedBy = try row[3].optionalString()
            receipt.creationIndex = try row[4].optionalInt()
            receipt.operation = try row[5].optionalString()
            receipt.requestedID = try row[6].optionalString()
            order.receipts.append(receipt)
        }
        return order
    }

    /// A receipt's ledger entries, found by the operation that recorded it.
    func loadEntries(_ receipt: inout Receipt) throws {
        guard let operation = receipt.operation.flatMap(OperationID.init) else { return }
        var entries: [LedgerEntry] = []
        var lines: [SKU] = []
        guard
            let lamport = try sql.scalar(
                "SELECT lamport FROM ops WHERE replica = ? AND counter = ?", operation.replica, operation.counter)
        else { return }
        for row in try sql.rows(
            "SELECT * FROM ledger WHERE lamport = ? AND replica = ? AND counter = ? ORDER BY idx", lamport,
            operation.replica, operation.counter)
        {
            entries.append(try Self.entry(row, operation: receipt.operation!))
            lines.append(try row["line"].optionalCode() ?? receipt.lines.first?.sku ?? "")
        }
        receipt.entries = entries
        receipt.entryLines = lines
    }

    func nextCreationIndex(_ table: String) throws -> Int {
        (try sql.scalar("SELECT MAX(creation_index) FROM \(table)")?.int() ?? -1) + 1
    }

    // MARK: Rows

    /// The valuations and positions of `keys`, in one query (a point query per key costs more in
    /// statement overhead than in SQLite's lookups).
    func stock(_ keys: Set<StockKey>) throws -> (valuations: [StockKey: Valuation], positions: [StockKey: Position]) {
        var valuations: [StockKey: Valuation] = [:]
        var positions: [StockKey: Position] = [:]
        guard !keys.isEmpty else { return (valuations, positions) }
        let list = try ProjectionWriter.stockKeyList(keys)
        for row in try sql.rows(
            """
            SELECT s.sku, s.location, s.quantity, s.value, s.last_rate, s.on_hand, s.on_order, s.demand,
                s.allocated, s.position_value
            FROM \(sql.dialect.jsonElements("?")) k
            JOIN stock s ON s.location = \(sql.dialect.collated("k.value ->> 1"))
                AND s.sku = \(sql.dialect.collated("k.value ->> 0"))
            """, list)
        {
            let key = StockKey(sku: try row[0].code(), location: try row[1].string())
            if let quantity = try row[2].optionalAmount() {
                valuations[key] = Valuation(
                    quantity: quantity, value: try row[3].amount(), lastRate: try row[4].amount())
            }
            if let onHand = try row[5].optionalAmount() {
                var position = Position(sku: key.sku, location: key.location)
                position.onHand = onHand
                position.onOrder = try row[6].amount()
                position.demand = try row[7].amount()
                position.allocated = try row[8].amount()
                position.value = try row[9].amount()
                positions[key] = position
            }
        }
        return (valuations, positions)
    }

    func fieldWrite(_ key: FieldKey) throws -> FieldWrite? {
        try sql.row("SELECT * FROM field_writes WHERE key = ?", key.rawValue).map(Self.fieldWrite)
    }

    /// A stored field key; one this build cannot read means the file was written by something else.
    static func fieldKey(_ text: String) throws -> FieldKey {
        guard let key = FieldKey(rawValue: text) else { throw StoredFieldKeyError(key: text) }
        return key
    }

    func fieldWrites(prefix: String) throws -> [(FieldKey, FieldWrite)] {
        // Every key with this prefix sorts between the prefix and the prefix with its last character raised.
        let upper = String(prefix.dropLast()) + ";"
        return try sql.rows("SELECT * FROM field_writes WHERE key >= ? AND key < ?", prefix, upper).map {
            (try Self.fieldKey(try $0["key"].string()), try Self.fieldWrite($0))
        }
    }

    func conflict(_ id: String) throws -> Conflict? {
        try sql.row("SELECT * FROM conflicts WHERE id = ?", id).map(Self.conflict)
    }

    func acknowledgement(_ id: String) throws -> Acknowledgement? {
        try sql.row("SELECT * FROM acknowledgements WHERE conflict = ?", id).map(Self.acknowledgement)
    }

    static func item(_ row: SQLRow) throws -> Item {
        Item(
            sku: try row["sku"].code(), kind: ItemKind(rawValue: try row["kind"].string()) ?? .material,
            unit: try row["unit"].string(), name: try row["name"].string())
    }

    static func valuation(_ row: SQLRow) throws -> Valuation {
        Valuation(
            quantity: try row["quantity"].amount(), value: try row["value"].amount(),
            lastRate: try row["last_rate"].amount())
    }

    static func position(_ row: SQLRow) throws -> Position {
        var position = Position(sku: try row["sku"].code(), location: try row["location"].string())
        position.onHand = try row["on_hand"].amount()
        position.onOrder = try row["on_order"].amount()
        position.demand = try row["demand"].amount()
        position.allocated = try row["allocated"].amount()
        position.value = try row["value"].amount()
        return position
    }

    static func entry(_ row: SQLRow, operation: String) throws -> LedgerEntry {
        LedgerEntry(
            sku: try row["sku"].code(), location: try row["location"].string(),
            event: LedgerEvent(rawValue: try row["event"].string()) ?? .adjust, quantity: try row["quantity"].amount(),
            unitCost: try row["unit_cost"].optionalAmount(), value: try row["value"].optionalAmount(),
            relieved: try row["relieved"].amount(), ref: try row["ref"].optionalCode(), date: try row["date"].string(),
            operation: operation)
    }

    static func conflict(_ row: SQLRow) throws -> Conflict {
        var conflict = Conflict(
            kind: Conflict.Kind(rawValue: try row["kind"].string()) ?? .refusedOperation,
            subject: try row["subject"].string(), trigger: "",
            operations: try JSONDecoder().decode([String].self, from: Data(try row["operations"].string().utf8)),
            outcome: try row["outcome"].string(), explanation: try row["explanation"].string())
        conflict.id = try row["id"].string()
        return conflict
    }

    static func acknowledgement(_ row: SQLRow) throws -> Acknowledgement {
        Acknowledgement(
            conflict: try row["conflict"].string(), operation: try row["operation"].string(),
            note: try row["note"].string(), date: try row["date"].string())
    }

    static func fieldWrite(_ row: SQLRow) throws -> FieldWrite {
        let rivals = try row["rivals"].string()
        return FieldWrite(
            operation: try row["operation"].string(), value: try row["value"].string(),
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

    mutating func loadSubtree(_ sku: SKU, _ sql: any SQLExecutor) throws {
        try loadSubtrees([sku], sql)
    }

    /// Every BOM line below the given SKUs, in one recursive query, and the items of every SKU met.
    mutating func loadSubtrees(_ roots: [SKU], _ sql: any SQLExecutor) throws {
        let roots = roots.filter { !loadedSubtrees.contains($0) }
        guard !roots.isEmpty else { return }
        let rows = try sql.rows(
            """
            WITH RECURSIVE tree(sku) AS (
                SELECT \(sql.dialect.collated("value")) FROM \(sql.dialect.jsonTextElements("?1"))
                UNION SELECT b.child FROM bom_lines b JOIN tree t ON b.parent = t.sku
            )
            SELECT b.parent, b.child, b.quantity FROM bom_lines b WHERE b.parent IN (SELECT sku FROM tree)
                ORDER BY b.parent, b.child
            """, try ProjectionWriter.json(roots))
        var parents: Set<SKU> = []
        var skus = Set(roots)
        for row in rows {
            let parent: SKU = try row[0].code()
            let child: SKU = try row[1].code()
            skus.formUnion([parent, child])
            if parents.insert(parent).inserted, boms[parent] != nil { boms[parent] = [] }
            boms[parent, default: []].append(BOMLine(sku: child, quantity: try row[2].amount()))
        }
        for sku in skus.sorted() {
            loadedSubtrees.insert(sku)
            try loadItem(sku, sql)
        }
    }

    mutating func loadItem(_ sku: SKU, _ sql: any SQLExecutor) throws {
        guard checkedItems.insert(sku).inserted else { return }
        if let row = try sql.row("SELECT sku, kind, unit, name FROM items WHERE sku = ?", sku) {
            items[sku] = try ProjectionReader.item(row)
        }
    }

    mutating func loadLocation(_ code: String, _ sql: any SQLExecutor) throws {
        guard checkedLocations.insert(code).inserted else { return }
        if let row = try sql.row("SELECT code, name FROM locations WHERE code = ?", code) {
            locations[code] = Location(code: code, name: try row[1].string())
        }
    }
}
