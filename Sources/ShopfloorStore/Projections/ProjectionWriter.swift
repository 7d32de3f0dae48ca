import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// Writes what a fold changed: the rows of `after` that differ from `before` (the working set as loaded), and
/// nothing else. Through ``write(from:to:undoKept:)``, the first before-image of each row is kept so a device's
/// unsynced suffix can be rewound (see `Replica+Sequence.swift`).
struct ProjectionWriter {
    let sql: any SQLExecutor

    init(_ sql: any SQLExecutor) {
        self.sql = sql
    }

    func write(from before: Shop, to after: Shop) throws {
        var known: Set<String> = []
        try write(from: before, to: after, undo: nil, known: &known)
    }

    /// Writes the changes and keeps the first before-image of each row changed; `undoKept` holds the rows known to
    /// have one already, and learns the rows given one now.
    func write(from before: Shop, to after: Shop, undoKept: inout Set<String>) throws {
        try write(from: before, to: after, undo: UndoLog(sql: sql), known: &undoKept)
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
        try sql.execute(Upsert.items, item.sku, item.kind.rawValue, item.unit, item.name)
    }

    func writeLocation(_ location: Location) throws {
        try sql.execute(Upsert.locations, location.code, location.name)
    }

    func writeBOM(_ parent: SKU, lines: [BOMLine]) throws {
        try sql.execute("DELETE FROM bom_lines WHERE parent = ?", parent)
        let insert = try sql.prepare("INSERT INTO bom_lines (parent, child, quantity) VALUES (?, ?, ?)")
        for line in lines { try insert.execute([parent.sqlValue, line.sku.sqlValue, .amount(line.quantity)]) }
    }

    /// Writes the rows of `order` that differ from `previous` (all of them when there is none).
    func writeOrder(_ order: Order, previous: Order?) throws {
        let number = order.number.sqlValue
        if previous.map({ Self.header($0) != Self.header(order) }) ?? true {
            try sql.execute(
                Upsert.orders, order.number, order.kind.rawValue, order.location, order.status.rawValue, order.due,
                order.notes, order.tolerancePercent, order.createdBy, order.requestedNumber, order.closedBy,
                order.creationIndex, order.wip, order.fg, order.backflush?.rawValue)
        }
        let writeLine = try sql.prepare(Upsert.orderLines)
        let writeInput = try sql.prepare(Upsert.lineInputs)
        for (index, line) in order.lines.enumerated() {
            let old = previous.flatMap { $0.lines.indices.contains(index) ? $0.lines[index] : nil }
            if old.map({ ($0.sku, $0.quantity, $0.unitCost, $0.produced, $0.onOrder, $0.lost) })
                .map({ $0 != (line.sku, line.quantity, line.unitCost, line.produced, line.onOrder, line.lost) }) ?? true
            {
                try writeLine.execute([
                    number, index.sqlValue, line.sku.sqlValue, .amount(line.quantity), line.unitCost.sqlValue,
                    .amount(line.produced), .amount(line.onOrder), (line.lost.isZero ? nil : line.lost).sqlValue,
                ])
            }
            for (inputIndex, input) in line.inputs.enumerated() {
                let consumed = line.consumed[input.sku] ?? .zero
                let oldInput = old.flatMap { $0.inputs.indices.contains(inputIndex) ? $0.inputs[inputIndex] : nil }
                if let old, oldInput == input, (old.consumed[input.sku] ?? .zero) == consumed { continue }
                try writeInput.execute([
                    number, index.sqlValue, inputIndex.sqlValue, input.sku.sqlValue, .amount(input.quantity),
                    .amount(consumed),
                ])
            }
        }
        let writeCommitment = try sql.prepare(Upsert.orderInputs)
        for input in order.inputs where previous?.inputs.first(where: { $0.sku == input.sku }) != input {
            // Nothing transferred is no value (NULL): the digest of orders from before transfers stays as it was.
            try writeCommitment.execute([
                number, input.sku.sqlValue, .amount(input.required), .amount(input.demand), .amount(input.allocated),
                (input.transferred.isZero ? nil : input.transferred).sqlValue,
                (input.scrapped.isZero ? nil : input.scrapped).sqlValue,
            ])
        }
        if previous?.transfers != order.transfers {
            let known = previous?.transfers.count ?? 0
            let insert = try sql.prepare(Upsert.orderTransfers)
            for (index, operation) in order.transfers.enumerated().dropFirst(known) {
                try insert.execute([number, index.sqlValue, operation.sqlValue])
            }
        }
        let writeReceipt = try sql.prepare(Upsert.receipts)
        let writeReceiptLine = try sql.prepare(Upsert.receiptLines)
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
            try writeReceipt.execute([
                receipt.id.sqlValue, number, receipt.date.sqlValue, receipt.voided.sqlValue,
                receipt.voidedBy.sqlValue, receipt.creationIndex.sqlValue, receipt.operation.sqlValue,
                receipt.requestedID.sqlValue,
            ])
            guard old?.lines != receipt.lines else { continue }
            for (index, line) in receipt.lines.enumerated() {
                try writeReceiptLine.execute([
                    receipt.id.sqlValue, index.sqlValue, line.sku.sqlValue, .amount(line.quantity),
                ])
            }
        }
    }

    /// Removes every row of an order (a rewind, before its image is written back).
    func deleteOrder(_ number: OrderNumber) throws {
        try sql.execute(
            "DELETE FROM receipt_lines WHERE receipt_id IN (SELECT id FROM receipts WHERE order_number = ?)", number)
        for table in ["receipts", "line_inputs", "order_inputs", "order_lines", "order_transfers"] {
            try sql.execute("DELETE FROM \(table) WHERE order_number = ?", number)
        }
        try sql.execute("DELETE FROM orders WHERE number = ?", number)
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
        try sql.prepare(Upsert.stock).execute([
            key.location.sqlValue, key.sku.sqlValue, valuation?.quantity.sqlValue ?? .null,
            valuation?.value.sqlValue ?? .null, valuation?.lastRate.sqlValue ?? .null,
            position?.onHand.sqlValue ?? .null, position?.onOrder.sqlValue ?? .null,
            position?.demand.sqlValue ?? .null, position?.allocated.sqlValue ?? .null,
            position?.value.sqlValue ?? .null,
        ])
    }

    func writeAcknowledgement(_ ack: Acknowledgement) throws {
        try sql.execute(Upsert.acknowledgements, ack.conflict, ack.operation, ack.note, ack.date)
    }

    func writeField(_ key: FieldKey, _ write: FieldWrite) throws {
        try sql.execute(
            Upsert.fieldWrites, key.rawValue, write.operation, write.value,
            write.rivals.isEmpty ? "" : try Self.json(write.rivals))
    }

    /// Appends what one folded operation wrote to the append-only tables: ledger entries and conflicts.
    func append(_ step: FoldStep, key: CanonicalKey, position: Int) throws {
        let lamport = SQLValue.integer(Int64(key.lamport))
        let replica = SQLValue.text(key.replica)
        let counter = SQLValue.integer(Int64(key.counter))
        if !step.conflicts.isEmpty {
            let insertConflict = try sql.prepare(
                """
                INSERT INTO conflicts (id, lamport, replica, counter, idx, kind, subject, operations, outcome,
                    explanation, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (index, conflict) in step.conflicts.enumerated() {
                try insertConflict.execute([
                    conflict.id.sqlValue, lamport, replica, counter, index.sqlValue, conflict.kind.rawValue.sqlValue,
                    conflict.subject.sqlValue, .text(try Self.operationList(conflict.operations)),
                    conflict.outcome.sqlValue, conflict.explanation.sqlValue, position.sqlValue,
                ])
            }
        }
        guard !step.entries.isEmpty else { return }
        let insertEntry = try sql.prepare(
            """
            INSERT INTO ledger (lamport, replica, counter, idx, sku, location, event, quantity, unit_cost, value,
                relieved, ref, date, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (index, entry) in step.entries.enumerated() {
            let line = step.entryLines.flatMap { $0.indices.contains(index) ? $0[index] : nil }
            try insertEntry.execute([
                lamport, replica, counter, index.sqlValue, entry.sku.sqlValue, entry.location.sqlValue,
                entry.event.rawValue.sqlValue, .amount(entry.quantity), entry.unitCost.sqlValue, entry.value.sqlValue,
                entry.relieved.sqlValue, entry.ref.sqlValue, entry.date.sqlValue, line.sqlValue,
            ])
        }
        try appendRefs(of: step.entries, lamport: lamport, replica: replica, counter: counter)
    }

    /// One `ledger_refs` row per order the operation's entries name, with how many entries name it.
    private func appendRefs(of entries: [LedgerEntry], lamport: SQLValue, replica: SQLValue, counter: SQLValue) throws {
        var counts: [(ref: OrderNumber, entries: Int)] = []
        for case let ref? in entries.map(\.ref) {
            if let index = counts.firstIndex(where: { $0.ref == ref }) {
                counts[index].entries += 1
            } else {
                counts.append((ref, 1))
            }
        }
        guard !counts.isEmpty else { return }
        let insert = try sql.prepare(
            "INSERT INTO ledger_refs (ref, lamport, replica, counter, entries) VALUES (?, ?, ?, ?, ?)")
        for (ref, entries) in counts {
            try insert.execute([ref.sqlValue, lamport, replica, counter, entries.sqlValue])
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
    let sql: any SQLExecutor

    /// `known` holds the rows (kind, 0x1F, key) known to have an image already; the row is added to it.
    func keep<Image: Encodable>(_ known: inout Set<String>, _ kind: String, _ key: String, _ image: Image?) throws {
        let row = kind + "\u{1F}" + key
        guard !known.contains(row) else { return }
        if try sql.row("SELECT 1 FROM undo WHERE kind = ? AND key = ?", kind, key) == nil {
            let text: String? = try image.map { try ProjectionWriter.json($0) }
            try sql.execute(Upsert.undo, kind, key, text)
        }
        if known.count >= WorkingSetCache.undoKeysMax { known = [] }
        known.insert(row)
    }
}
