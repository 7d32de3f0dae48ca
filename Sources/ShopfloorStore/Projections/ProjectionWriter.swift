import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// Writes what a fold changed: the rows of `after` that differ from `before` (the working set as loaded), and
/// nothing else. Through ``write(from:to:undoKept:)``, the first before-image of each row is kept so a device's
/// unsynced suffix can be rewound (see `Replica+Sequence.swift`).
struct ProjectionWriter {
    let db: Database

    func write(from before: Shop, to after: Shop) throws {
        var known: Set<String> = []
        try write(from: before, to: after, undo: nil, known: &known)
    }

    /// Writes the changes and keeps the first before-image of each row changed; `undoKept` holds the rows known to
    /// have one already, and learns the rows given one now.
    func write(from before: Shop, to after: Shop, undoKept: inout Set<String>) throws {
        try write(from: before, to: after, undo: UndoLog(db: db), known: &undoKept)
    }

    private func write(from before: Shop, to after: Shop, undo: UndoLog?, known: inout Set<String>) throws {
        for (sku, item) in after.catalog.items where before.catalog.items[sku] != item {
            try undo?.keep(&known, "item", sku.rawValue, before.catalog.items[sku])
            try writeItem(item)
        }
        for (code, location) in after.catalog.locations where before.catalog.locations[code] != location {
            try undo?.keep(&known, "location", code, before.catalog.locations[code])
            try writeLocation(location)
        }
        for (parent, lines) in after.catalog.boms where before.catalog.boms[parent] != lines {
            try undo?.keep(&known, "bom", parent.rawValue, before.catalog.boms[parent])
            try writeBOM(parent, lines: lines)
        }
        for (number, order) in after.orders {
            let previous = before.orders[number]
            guard previous.map(Self.persisted) != Self.persisted(order) else { continue }
            try undo?.keep(&known, "order", number.rawValue, previous.map(Self.persisted))
            try writeOrder(order, previous: previous)
        }
        let stockKeys = Set(after.valuations.keys).union(after.positions.keys)
        for key in stockKeys.sorted() {
            let valuation = after.valuations[key]
            let position = after.positions[key]
            guard valuation != before.valuations[key] || position != before.positions[key] else { continue }
            if let undo {
                let image =
                    before.valuations[key] == nil && before.positions[key] == nil
                    ? nil : StockImage(valuation: before.valuations[key], position: before.positions[key])
                try undo.keep(&known, "stock", try Self.undoKey(key), image)
            }
            try writeStock(key, valuation: valuation, position: position)
        }
        for (conflict, ack) in after.acknowledgements where before.acknowledgements[conflict] != ack {
            try undo?.keep(&known, "ack", conflict, before.acknowledgements[conflict])
            try writeAcknowledgement(ack)
        }
        for (key, write) in after.fieldWrites where before.fieldWrites[key] != write {
            try undo?.keep(&known, "field", key.rawValue, before.fieldWrites[key])
            try writeField(key, write)
        }
    }

    /// An order as its rows hold it: receipts without the ledger entries a void loads.
    static func persisted(_ order: Order) -> Order {
        var order = order
        // Only what differs is touched: writing through an index copies the array it is in.
        for index in order.receipts.indices
        where !order.receipts[index].entries.isEmpty || order.receipts[index].entryLines != nil {
            order.receipts[index].entries = []
            order.receipts[index].entryLines = nil
        }
        for index in order.lines.indices where order.lines[index].consumed.values.contains(where: \.isZero) {
            // Zero consumption and no row are the same thing.
            order.lines[index].consumed = order.lines[index].consumed.filter { !$0.value.isZero }
        }
        return order
    }

    // MARK: Rows

    func writeItem(_ item: Item) throws {
        try db.cachedStatement(sql: Upsert.items)
            .execute(arguments: [item.sku, item.kind.rawValue, item.unit, item.name])
    }

    func writeLocation(_ location: Location) throws {
        try db.cachedStatement(sql: Upsert.locations)
            .execute(arguments: [location.code, location.name])
    }

    func writeBOM(_ parent: SKU, lines: [BOMLine]) throws {
        try db.cachedStatement(sql: "DELETE FROM bom_lines WHERE parent = ?").execute(arguments: [parent])
        let insert = try db.cachedStatement(sql: "INSERT INTO bom_lines (parent, child, quantity) VALUES (?, ?, ?)")
        for line in lines { try insert.execute(arguments: [parent, line.sku, StoredAmount.value(line.quantity)]) }
    }

    /// Writes the rows of `order` that differ from `previous` (all of them when there is none).
    func writeOrder(_ order: Order, previous: Order?) throws {
        let number = order.number
        if previous.map({ Self.header($0) != Self.header(order) }) ?? true {
            try db.cachedStatement(sql: Upsert.orders).execute(arguments: [
                number, order.kind.rawValue, order.location, order.status.rawValue, order.due, order.notes,
                StoredAmount.value(order.tolerancePercent), order.createdBy, order.requestedNumber, order.closedBy,
                order.creationIndex, order.wip, order.fg, order.backflush?.rawValue,
            ])
        }
        let writeLine = try RawInsert(db, sql: Upsert.orderLines)
        let writeInput = try RawInsert(db, sql: Upsert.lineInputs)
        for (index, line) in order.lines.enumerated() {
            let old = previous.flatMap { $0.lines.indices.contains(index) ? $0.lines[index] : nil }
            if old.map({ ($0.sku, $0.quantity, $0.unitCost, $0.produced, $0.onOrder, $0.lost) })
                .map({ $0 != (line.sku, line.quantity, line.unitCost, line.produced, line.onOrder, line.lost) }) ?? true
            {
                try writeLine.execute(
                    db, number.databaseValue, index.databaseValue, line.sku.databaseValue,
                    StoredAmount.value(line.quantity), StoredAmount.value(line.unitCost),
                    StoredAmount.value(line.produced), StoredAmount.value(line.onOrder),
                    StoredAmount.value(line.lost.isZero ? nil : line.lost))
            }
            for (inputIndex, input) in line.inputs.enumerated() {
                let consumed = line.consumed[input.sku] ?? .zero
                let oldInput = old.flatMap { $0.inputs.indices.contains(inputIndex) ? $0.inputs[inputIndex] : nil }
                if let old, oldInput == input, (old.consumed[input.sku] ?? .zero) == consumed { continue }
                try writeInput.execute(
                    db, number.databaseValue, index.databaseValue, inputIndex.databaseValue, input.sku.databaseValue,
                    StoredAmount.value(input.quantity), StoredAmount.value(consumed))
            }
        }
        let writeCommitment = try RawInsert(db, sql: Upsert.orderInputs)
        for input in order.inputs where previous?.inputs.first(where: { $0.sku == input.sku }) != input {
            // Nothing transferred is no value (NULL): the digest of orders from before transfers stays as it was.
            try writeCommitment.execute(
                db, number.databaseValue, input.sku.databaseValue, StoredAmount.value(input.required),
                StoredAmount.value(input.demand), StoredAmount.value(input.allocated),
                StoredAmount.value(input.transferred.isZero ? nil : input.transferred),
                StoredAmount.value(input.scrapped.isZero ? nil : input.scrapped))
        }
        if previous?.transfers != order.transfers {
            let known = previous?.transfers.count ?? 0
            for (index, operation) in order.transfers.enumerated().dropFirst(known) {
                try db.cachedStatement(sql: Upsert.orderTransfers).execute(arguments: [number, index, operation])
            }
        }
        let writeReceipt = try RawInsert(db, sql: Upsert.receipts)
        let writeReceiptLine = try RawInsert(db, sql: Upsert.receiptLines)
        let oldReceipts = Dictionary(
            (previous?.receipts ?? []).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for receipt in order.receipts {
            let old = oldReceipts[receipt.id]
            if let old, old.voided == receipt.voided, old.voidedBy == receipt.voidedBy, old.date == receipt.date,
                old.creationIndex == receipt.creationIndex, old.operation == receipt.operation,
                old.requestedID == receipt.requestedID
            {
                continue
            }
            try writeReceipt.execute(
                db, receipt.id.databaseValue, number.databaseValue, receipt.date.databaseValue,
                receipt.voided.databaseValue, receipt.voidedBy.databaseValue, receipt.creationIndex.databaseValue,
                receipt.operation.databaseValue, receipt.requestedID.databaseValue)
            guard old?.lines != receipt.lines else { continue }
            for (index, line) in receipt.lines.enumerated() {
                try writeReceiptLine.execute(
                    db, receipt.id.databaseValue, index.databaseValue, line.sku.databaseValue,
                    StoredAmount.value(line.quantity))
            }
        }
    }

    /// Removes every row of an order (a rewind, before its image is written back).
    func deleteOrder(_ number: OrderNumber) throws {
        try db.cachedStatement(
            sql: "DELETE FROM receipt_lines WHERE receipt_id IN (SELECT id FROM receipts WHERE order_number = ?)"
        ).execute(arguments: [number])
        for table in ["receipts", "line_inputs", "order_inputs", "order_lines", "order_transfers"] {
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE order_number = ?").execute(arguments: [number])
        }
        try db.cachedStatement(sql: "DELETE FROM orders WHERE number = ?").execute(arguments: [number])
    }

    static func header(_ order: Order) -> [String?] {
        [
            order.kind.rawValue, order.location, order.status.rawValue, order.due, order.notes,
            order.tolerancePercent.description, order.createdBy, order.requestedNumber?.rawValue, order.closedBy,
            order.creationIndex.map { "\($0)" }, order.wip, order.fg, order.backflush?.rawValue,
        ]
    }

    /// Writes a stock key's row: its valuation and position together (either may be absent).
    func writeStock(_ key: StockKey, valuation: Valuation?, position: Position?) throws {
        let insert = try RawInsert(db, sql: Upsert.stock)
        insert.bind(1, key.location)
        insert.bind(2, key.sku)
        insert.bind(3, StoredAmount.value(valuation?.quantity))
        insert.bind(4, StoredAmount.value(valuation?.value))
        insert.bind(5, StoredAmount.value(valuation?.lastRate))
        insert.bind(6, StoredAmount.value(position?.onHand))
        insert.bind(7, StoredAmount.value(position?.onOrder))
        insert.bind(8, StoredAmount.value(position?.demand))
        insert.bind(9, StoredAmount.value(position?.allocated))
        insert.bind(10, StoredAmount.value(position?.value))
        try insert.step(db)
    }

    func writeAcknowledgement(_ ack: Acknowledgement) throws {
        try db.cachedStatement(sql: Upsert.acknowledgements).execute(arguments: [
            ack.conflict, ack.operation, ack.note, ack.date,
        ])
    }

    func writeField(_ key: FieldKey, _ write: FieldWrite) throws {
        try db.cachedStatement(sql: Upsert.fieldWrites).execute(arguments: [
            key.rawValue, write.operation, write.value, write.rivals.isEmpty ? "" : try Self.json(write.rivals),
        ])
    }

    /// Appends what one folded operation wrote to the append-only tables: ledger entries and conflicts.
    func append(_ step: FoldStep, key: CanonicalKey, position: Int) throws {
        let insertConflict = try db.cachedStatement(
            sql: """
                INSERT INTO conflicts (id, lamport, replica, counter, idx, kind, subject, operations, outcome,
                    explanation, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for (index, conflict) in step.conflicts.enumerated() {
            try insertConflict.execute(arguments: [
                conflict.id, Int64(key.lamport), key.replica, Int64(key.counter), index, conflict.kind.rawValue,
                conflict.subject, try Self.operationList(conflict.operations), conflict.outcome, conflict.explanation,
                position,
            ])
        }
        let insertEntry = try RawInsert(
            db,
            sql: """
                INSERT INTO ledger (lamport, replica, counter, idx, sku, location, event, quantity, unit_cost, value,
                    relieved, ref, date, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let lamport = Int64(key.lamport)
        let counter = Int64(key.counter)
        for (index, entry) in step.entries.enumerated() {
            let line = step.entryLines.flatMap { $0.indices.contains(index) ? $0[index] : nil }
            insertEntry.bind(1, lamport)
            insertEntry.bind(2, key.replica)
            insertEntry.bind(3, counter)
            insertEntry.bind(4, index)
            insertEntry.bind(5, entry.sku)
            insertEntry.bind(6, entry.location)
            insertEntry.bind(7, entry.event.rawValue)
            insertEntry.bind(8, StoredAmount.value(entry.quantity))
            insertEntry.bind(9, StoredAmount.value(entry.unitCost))
            insertEntry.bind(10, StoredAmount.value(entry.value))
            insertEntry.bind(11, StoredAmount.value(entry.relieved))
            insertEntry.bind(12, entry.ref)
            insertEntry.bind(13, entry.date)
            insertEntry.bind(14, line)
            try insertEntry.step(db)
        }
        try appendRefs(of: step.entries, lamport: lamport, replica: key.replica, counter: counter)
    }

    /// One `ledger_refs` row per order the operation's entries name, with how many entries name it.
    private func appendRefs(of entries: [LedgerEntry], lamport: Int64, replica: String, counter: Int64) throws {
        var counts: [(ref: OrderNumber, entries: Int)] = []
        for case let ref? in entries.map(\.ref) {
            if let index = counts.firstIndex(where: { $0.ref == ref }) {
                counts[index].entries += 1
            } else {
                counts.append((ref, 1))
            }
        }
        guard !counts.isEmpty else { return }
        let insert = try RawInsert(
            db, sql: "INSERT INTO ledger_refs (ref, lamport, replica, counter, entries) VALUES (?, ?, ?, ?, ?)")
        for (ref, entries) in counts {
            insert.bind(1, ref)
            insert.bind(2, lamport)
            insert.bind(3, replica)
            insert.bind(4, counter)
            insert.bind(5, Int64(entries))
            try insert.step(db)
        }
    }

    /// A JSON array of operation ids (`["r1:7","hq:2"]`), written without a coder when no id needs escaping.
    static func operationList(_ ids: [String]) throws -> String {
        guard ids.allSatisfy(isPlain) else { return try json(ids) }
        return "[" + ids.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    /// A JSON array of [sku, location] pairs, for `json_each`; written without a coder when nothing needs escaping.
    static func stockKeyList(_ keys: some Collection<StockKey>) throws -> String {
        guard keys.allSatisfy({ isPlain($0.sku.rawValue) && isPlain($0.location) }) else {
            return try json(keys.map { [$0.sku.rawValue, $0.location] })
        }
        var text = "["
        for key in keys {
            if text.utf8.count > 1 { text += "," }
            text += try undoKey(key)
        }
        return text + "]"
    }

    /// Printable ASCII with no quote or backslash: the same text inside JSON quotes.
    private static func isPlain(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// A stock key in the undo log: the JSON array `["sku","location"]`, as ``json(_:)`` writes it (one element of
    /// ``stockKeyList(_:)``), written without a coder when nothing needs escaping.
    static func undoKey(_ key: StockKey) throws -> String {
        guard isPlain(key.sku.rawValue), isPlain(key.location) else {
            return try json([key.sku.rawValue, key.location])
        }
        return "[\"\(key.sku)\",\"\(key.location)\"]"
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A stock key's rows as they were before a suffix.
struct StockImage: Codable {
    var valuation: Valuation?
    var position: Position?
}

/// Before-images of rows changed by a device's unsynced suffix; the first image of a row is the one kept.
struct UndoLog {
    let db: Database

    /// `known` holds the rows (kind, 0x1F, key) known to have an image already; the row is added to it.
    func keep<Image: Encodable>(_ known: inout Set<String>, _ kind: String, _ key: String, _ image: Image?) throws {
        let row = kind + "\u{1F}" + key
        guard !known.contains(row) else { return }
        let kept = try db.cachedStatement(sql: "SELECT 1 FROM undo WHERE kind = ? AND key = ?")
        if try Bool.fetchOne(kept, arguments: [kind, key]) == nil {
            let text: String? = try image.map { try ProjectionWriter.json($0) }
            try db.cachedStatement(sql: Upsert.undo)
                .execute(arguments: [kind, key, text])
        }
        if known.count >= WorkingSetCache.undoKeysMax { known = [] }
        known.insert(row)
    }
}
