import Foundation
import GRDB
import ShopfloorDomain

/// A SKU's stock position at one location, as read from the projections.
public struct PositionRow: Sendable, Hashable, Codable {
    public var sku: SKU
    public var location: String
    public var unit: String
    public var onHand: Amount
    public var onOrder: Amount
    public var demand: Amount
    public var allocated: Amount
    public var available: Amount
    public var projected: Amount
    public var value: Amount

    enum CodingKeys: String, CodingKey {
        case sku, location, unit, demand, allocated, available, projected, value
        case onHand = "on_hand"
        case onOrder = "on_order"
    }
}

/// One ledger entry with the operation that wrote it.
public struct LedgerRow: Sendable, Hashable, Codable {
    /// "replica:counter".
    public var operation: String
    public var lamport: Int64
    /// Position among the entries of its operation.
    public var index: Int
    public var sku: SKU
    public var location: String
    public var event: String
    public var quantity: Amount
    public var unitCost: Amount?
    public var value: Amount?
    public var relieved: Amount
    public var ref: OrderNumber?
    public var date: String

    enum CodingKeys: String, CodingKey {
        case operation, lamport, index, sku, location, event, quantity, value, relieved, ref, date
        case unitCost = "unit_cost"
    }
}

/// A SKU and a quantity (receipt lines, order progress).
public struct QuantityRow: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Amount
}

/// One output line's progress in an order list.
public struct OutputProgressRow: Sendable, Hashable, Codable {
    public var sku: SKU
    public var ordered: Amount
    public var produced: Amount
}

/// An order as listed.
public struct OrderSummaryRow: Sendable, Hashable, Codable {
    public var number: OrderNumber
    public var kind: String
    public var location: String
    public var status: String
    public var due: String?
    public var outputs: [OutputProgressRow]
}

/// An order with everything `order show` displays.
public struct OrderDetail: Sendable, Hashable, Codable {
    public struct Line: Sendable, Hashable, Codable {
        public var sku: SKU
        public var ordered: Amount
        public var produced: Amount
        public var onOrder: Amount
        public var unitCost: Amount?
        /// Lost in the process (PROCESS_LOSS): counted toward progress, never produced.
        public var lost: Amount

        enum CodingKeys: String, CodingKey {
            case sku, ordered, produced, lost
            case onOrder = "on_order"
            case unitCost = "unit_cost"
        }
    }

    public struct Input: Sendable, Hashable, Codable {
        public var sku: SKU
        public var required: Amount
        public var demand: Amount
        public var allocated: Amount
        public var consumed: Amount
        /// Moved into the WIP warehouse for the order (Make Transfer), net of what went back on close.
        public var transferred: Amount
        /// Scrapped by the order's receipts.
        public var scrapped: Amount
    }

    public struct ReceiptInfo: Sendable, Hashable, Codable {
        public var id: String
        public var date: String
        public var voided: Bool
        public var lines: [QuantityRow]
    }

    public var number: OrderNumber
    public var kind: String
    public var location: String
    /// Where the inputs are staged and consumed (the location unless the order names another).
    public var wip: String
    /// Where the finished goods land (the location unless the order names another).
    public var fg: String
    /// What receipts consume: `bom` or `transferred`.
    public var backflush: String
    public var status: String
    public var due: String?
    public var notes: String
    public var tolerancePercent: Amount
    /// Lifecycle events allowed in the current status.
    public var allowedEvents: [String]
    public var lines: [Line]
    /// The input snapshot taken at Enter, sorted by SKU (empty in Draft).
    public var inputs: [Input]
    /// In the order they were recorded.
    public var receipts: [ReceiptInfo]
    /// Ledger entries whose ref is this order.
    public var ledgerEntries: Int
    /// Ids of conflicts about this order that nobody has acknowledged yet.
    public var openConflicts: [String] = []
    /// The number the author chose, when the order had to be renamed (duplicate number).
    public var requestedNumber: OrderNumber?

    enum CodingKeys: String, CodingKey {
        case number, kind, location, wip, fg, backflush, status, due, notes, lines, inputs, receipts
        case openConflicts = "open_conflicts"
        case requestedNumber = "requested_number"
        case tolerancePercent = "tolerance_percent"
        case allowedEvents = "allowed_events"
        case ledgerEntries = "ledger_entries"
    }
}

/// An operation of the log.
public struct OperationRow: Sendable, Hashable, Codable {
    /// "replica:counter".
    public var id: String
    public var replica: String
    public var counter: Int64
    public var lamport: Int64
    public var kind: String
    public var date: String
    public var timestamp: String
    /// The canonical JSON payload, verbatim.
    public var payload: String
}

extension Replica {
    /// Stock positions sorted by SKU then location, optionally filtered.
    public func positions(sku: SKU? = nil, location: String? = nil) throws -> [PositionRow] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.sku, p.location, COALESCE(i.unit, '') AS unit, p.on_hand, p.on_order, p.demand,
                        p.allocated, p.value
                    FROM positions p LEFT JOIN items i ON i.sku = p.sku
                    WHERE (?1 IS NULL OR p.sku = ?1) AND (?2 IS NULL OR p.location = ?2)
                    ORDER BY p.sku, p.location
                    """, arguments: [sku, location])
            return try rows.map { row in
                let onHand = try StoredAmount.amount(row["on_hand"])
                let onOrder = try StoredAmount.amount(row["on_order"])
                let demand = try StoredAmount.amount(row["demand"])
                let allocated = try StoredAmount.amount(row["allocated"])
                return PositionRow(
                    sku: row["sku"], location: row["location"], unit: row["unit"], onHand: onHand, onOrder: onOrder,
                    demand: demand, allocated: allocated, available: onHand - allocated,
                    projected: onHand + onOrder - demand - allocated, value: try StoredAmount.amount(row["value"]))
            }
        }
    }

    /// Ledger entries in canonical order, optionally filtered.
    public func ledger(ref: OrderNumber? = nil, sku: SKU? = nil, location: String? = nil) throws -> [LedgerRow] {
        try read { db in
            // By ref through ledger_refs (the operations that wrote entries for it); otherwise a scan of the ledger
            // in its key order, which is the listing's order (README, "Ledger queries").
            let source =
                ref == nil
                ? "ledger l"
                : """
                ledger_refs r JOIN ledger l
                    ON l.lamport = r.lamport AND l.replica = r.replica AND l.counter = r.counter AND r.ref = ?1
                """
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT l.* FROM \(source)
                    WHERE (?1 IS NULL OR l.ref = ?1) AND (?2 IS NULL OR l.sku = ?2) AND (?3 IS NULL OR l.location = ?3)
                    ORDER BY l.lamport, l.replica, l.counter, l.idx
                    """, arguments: [ref, sku, location])
            return try rows.map(Self.ledgerRow)
        }
    }

    /// Orders sorted by number, optionally only those in `status` (an ``OrderStatus`` raw value). Reads the order
    /// and line rows only: the cost follows the orders listed.
    public func orders(status: String? = nil) throws -> [OrderSummaryRow] {
        try read { db in
            var summaries: [OrderSummaryRow] = []
            // Two statements, not `?1 IS NULL OR status = ?1`: SQLite plans that one as a scan of every order, so a
            // filtered list would grow with the history instead of with the orders it prints.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT o.number, o.kind, o.location, o.status, o.due, l.sku, l.quantity, l.produced
                    FROM orders o JOIN order_lines l ON l.order_number = o.number
                    \(status == nil ? "" : "WHERE o.status = ?") ORDER BY o.number, l.idx
                    """, arguments: StatementArguments(status.map { [$0] } ?? []))
            for row in rows {
                let number: OrderNumber = row["number"]
                if summaries.last?.number != number {
                    summaries.append(
                        OrderSummaryRow(
                            number: number, kind: row["kind"], location: row["location"], status: row["status"],
                            due: row["due"], outputs: []))
                }
                summaries[summaries.count - 1].outputs.append(
                    OutputProgressRow(
                        sku: row["sku"], ordered: try StoredAmount.amount(row["quantity"]),
                        produced: try StoredAmount.amount(row["produced"])))
            }
            return summaries
        }
    }

    /// One order in full, or nil when there is no such order.
    public func orderDetail(_ number: OrderNumber) throws -> OrderDetail? {
        try read { db in
            guard let order = try ProjectionReader(db).order(number) else { return nil }
            let entries =
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(entries), 0) FROM ledger_refs WHERE ref = ?", arguments: [number])
                ?? 0
            var consumed: [SKU: Amount] = [:]
            for line in order.lines {
                for (sku, quantity) in line.consumed { consumed[sku, default: .zero] += quantity }
            }
            return OrderDetail(
                number: order.number, kind: order.kind.rawValue, location: order.location, wip: order.wipLocation,
                fg: order.fgLocation, backflush: order.basis.rawValue, status: order.status.rawValue, due: order.due,
                notes: order.notes,
                tolerancePercent: order.tolerancePercent,
                allowedEvents: OrderLifecycle.allowedEvents(in: order.status).map(\.rawValue),
                lines: order.lines.map {
                    OrderDetail.Line(
                        sku: $0.sku, ordered: $0.quantity, produced: $0.produced, onOrder: $0.onOrder,
                        unitCost: $0.unitCost, lost: $0.lost)
                },
                inputs: order.inputs.map {
                    OrderDetail.Input(
                        sku: $0.sku, required: $0.required, demand: $0.demand, allocated: $0.allocated,
                        consumed: consumed[$0.sku] ?? .zero, transferred: $0.transferred, scrapped: $0.scrapped)
                },
                receipts: order.receipts.map { receipt in
                    OrderDetail.ReceiptInfo(
                        id: receipt.id, date: receipt.date, voided: receipt.voided,
                        lines: receipt.lines.map { QuantityRow(sku: $0.sku, quantity: $0.quantity) })
                },
                ledgerEntries: entries,
                openConflicts: try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM conflicts WHERE id NOT IN (SELECT conflict FROM acknowledgements)
                        AND (subject = ? OR subject = ?) ORDER BY lamport, replica, counter, idx
                        """, arguments: [order.number, order.requestedNumber ?? order.number]),
                requestedNumber: order.requestedNumber)
        }
    }

    /// The catalog rows below the given SKUs: their items and every BOM line of their subtrees.
    public func catalog(subtreesOf skus: [SKU]) throws -> Catalog {
        try read { db in
            var rows = CatalogRows()
            for sku in skus { try rows.loadSubtree(sku, db) }
            return rows.catalog
        }
    }

    /// The status of an order, or nil when there is none.
    public func orderStatus(_ number: OrderNumber) throws -> OrderStatus? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT status FROM orders WHERE number = ?", arguments: [number])
                .flatMap(OrderStatus.init(rawValue:))
        }
    }

    /// The order a receipt was recorded against, or nil when there is no such receipt.
    public func orderNumber(ofReceipt id: String) throws -> OrderNumber? {
        try read { db in
            try OrderNumber.fetchOne(db, sql: "SELECT order_number FROM receipts WHERE id = ?", arguments: [id])
        }
    }

    /// The newest operations first (reverse canonical order), at most `limit`.
    public func recentOperations(limit: Int) throws -> [OperationRow] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT replica, counter, lamport, kind, date, timestamp, payload FROM ops
                    ORDER BY lamport DESC, replica DESC, counter DESC LIMIT ?
                    """, arguments: [max(0, limit)]
            ).map { row in
                OperationRow(
                    id: "\(row["replica"] as String):\(row["counter"] as Int64)", replica: row["replica"],
                    counter: row["counter"], lamport: row["lamport"], kind: row["kind"], date: row["date"],
                    timestamp: row["timestamp"], payload: row["payload"])
            }
        }
    }
}

extension Replica {
    /// Catalog items by SKU: at most `limit`, those after `after` (a cursor).
    public func items(after: SKU? = nil, limit: Int) throws -> [Item] {
        try read { db in
            try db.rows(
                "SELECT sku, kind, unit, name FROM items WHERE sku > ? ORDER BY sku LIMIT ?", after ?? "", max(0, limit)
            ).map(ProjectionReader.item)
        }
    }

    public func item(_ sku: SKU) throws -> Item? {
        try read { db in
            try db.row("SELECT sku, kind, unit, name FROM items WHERE sku = ?", sku)
                .map(ProjectionReader.item)
        }
    }

    /// Every location, by code.
    public func locations() throws -> [Location] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT code, name FROM locations ORDER BY code").map {
                Location(code: $0["code"], name: $0["name"])
            }
        }
    }

    /// Orders by number, filtered, at most `limit` after the number `after` (a cursor): an index range per status,
    /// so a page costs the orders it holds.
    public func orders(
        status: String?, kind: String?, location: String?, after: OrderNumber?, limit: Int
    ) throws -> [OrderSummaryRow] {
        try read { db in
            var conditions = ["o.number > ?"]
            var arguments: [any DatabaseValueConvertible] = [after ?? ""]
            for (column, value) in [("status", status), ("kind", kind), ("location", location)] {
                guard let value else { continue }
                conditions.append("o.\(column) = ?")
                arguments.append(value)
            }
            let numbers = try OrderNumber.fetchAll(
                db,
                sql: "SELECT o.number FROM orders o WHERE \(conditions.joined(separator: " AND ")) "
                    + "ORDER BY o.number LIMIT ?",
                arguments: StatementArguments(arguments + [max(0, limit)]))
            var summaries: [OrderSummaryRow] = []
            let header = try db.cachedStatement(sql: "SELECT kind, location, status, due FROM orders WHERE number = ?")
            let lines = try db.cachedStatement(
                sql: "SELECT sku, quantity, produced FROM order_lines WHERE order_number = ? ORDER BY idx")
            for number in numbers {
                guard let row = try Row.fetchOne(header, arguments: [number]) else { continue }
                var summary = OrderSummaryRow(
                    number: number, kind: row["kind"], location: row["location"], status: row["status"],
                    due: row["due"], outputs: [])
                for line in try Row.fetchAll(lines, arguments: [number]) {
                    summary.outputs.append(
                        OutputProgressRow(
                            sku: line["sku"], ordered: try StoredAmount.amount(line["quantity"]),
                            produced: try StoredAmount.amount(line["produced"])))
                }
                summaries.append(summary)
            }
            return summaries
        }
    }
}

extension Replica {
    /// Ledger entries in canonical order after the entry `after` (lamport, replica, counter, index), at most `limit`:
    /// by ref through `ledger_refs`, otherwise a range of the ledger's key.
    public func ledger(
        ref: OrderNumber?, sku: SKU?, after: (lamport: Int64, replica: String, counter: Int64, index: Int)?, limit: Int
    ) throws -> [LedgerRow] {
        try read { db in
            var conditions = ["(?1 IS NULL OR l.sku = ?1)"]
            var arguments: [any DatabaseValueConvertible] = [sku]
            if let after {
                conditions.append("(l.lamport, l.replica, l.counter, l.idx) > (?, ?, ?, ?)")
                arguments += [after.lamport, after.replica, after.counter, after.index]
            }
            let source: String
            if let ref {
                source = """
                    ledger_refs r JOIN ledger l
                        ON l.lamport = r.lamport AND l.replica = r.replica AND l.counter = r.counter
                    """
                conditions.append("r.ref = ? AND l.ref = r.ref")
                arguments.append(ref)
            } else {
                source = "ledger l"
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT l.* FROM \(source) WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY l.lamport, l.replica, l.counter, l.idx LIMIT ?
                    """, arguments: StatementArguments(arguments + [max(0, limit)])
            ).map(Self.ledgerRow)
        }
    }

    static func ledgerRow(_ row: Row) throws -> LedgerRow {
        LedgerRow(
            operation: "\(row["replica"] as String):\(row["counter"] as Int64)", lamport: row["lamport"],
            index: row["idx"], sku: row["sku"], location: row["location"], event: row["event"],
            quantity: try StoredAmount.amount(row["quantity"]),
            unitCost: try StoredAmount.optionalAmount(row["unit_cost"]),
            value: try StoredAmount.optionalAmount(row["value"]),
            relieved: try StoredAmount.amount(row["relieved"]), ref: row["ref"], date: row["date"])
    }

    /// A BOM's lines by child SKU; nil when the item has none.
    public func bom(_ parent: SKU) throws -> [BOMLine]? {
        try read { db in
            let lines = try Row.fetchAll(
                db, sql: "SELECT child, quantity FROM bom_lines WHERE parent = ? ORDER BY child", arguments: [parent]
            ).map { BOMLine(sku: $0["child"], quantity: try StoredAmount.amount($0["quantity"])) }
            return lines.isEmpty ? nil : lines
        }
    }
}
