import Foundation
import GRDB
import ShopfloorDomain

/// A BOM explosion as the CLI's `bom explode --json`, the REST API and the MCP tools show it.
public struct ExplosionRow: Sendable, Hashable, Encodable {
    public struct Input: Sendable, Hashable, Encodable {
        public var sku: SKU
        public var kind: String
        public var unit: String
        public var quantity: Amount
    }

    public var sku: SKU
    public var quantity: Amount
    public var levels: String
    public var inputs: [Input]
}

/// A page of a listing, in the REST API and the MCP tools: `next` is the cursor for `after=` when there is more.
public struct ItemsPage<Element: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Element]
    public var next: String?

    public init(items: [Element], next: String? = nil) {
        self.items = items
        self.next = next
    }
}

/// The answer to voiding a receipt.
public struct VoidAnswer: Encodable, Sendable {
    public var receipt: String
    public var voided: Bool

    public init(receipt: String, voided: Bool) {
        self.receipt = receipt
        self.voided = voided
    }
}

/// Where a ledger page ends: the canonical key of its last entry, written `lamport.replica.counter.index`
/// (replica ids hold no `.`, PROTOCOL.md §5.8).
public struct LedgerCursor: Sendable, Hashable, CustomStringConvertible {
    public var lamport: Int64
    public var replica: String
    public var counter: Int64
    public var index: Int

    /// The cursor after `row`.
    public init(after row: LedgerRow) {
        let parts = row.operation.split(separator: ":", maxSplits: 1)
        lamport = row.lamport
        replica = parts.first.map(String.init) ?? ""
        counter = parts.count == 2 ? Int64(parts[1]) ?? 0 : 0
        index = row.index
    }

    /// Parses the `next` of a page; nil when `text` is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, let lamport = Int64(parts[0]), !parts[1].isEmpty, let counter = Int64(parts[2]),
            let index = Int(parts[3])
        else { return nil }
        (self.lamport, self.replica, self.counter, self.index) = (lamport, String(parts[1]), counter, index)
    }

    public var description: String { "\(lamport).\(replica).\(counter).\(index)" }
}

/// A new order as the REST API (`POST /api/v1/orders`) and the MCP tool `create_order` take it, in the field names
/// of the CLI's `--json`. Without `number`, the order takes the replica's next default number (`WO-hq-7`).
public struct NewOrder: Sendable, Decodable {
    public struct Output: Sendable, Decodable {
        public var sku: SKU
        public var quantity: Amount
        public var unitCost: Amount?

        enum CodingKeys: String, CodingKey {
            case sku, quantity
            case unitCost = "unit_cost"
        }
    }

    public var number: OrderNumber?
    public var kind: OrderKind?
    public var location: String
    public var due: String?
    public var notes: String?
    public var tolerancePercent: Amount?
    public var outputs: [Output]
    /// The WIP and FG warehouses; absent means the location.
    public var wip: String?
    public var fg: String?
    /// What receipts consume; absent means `bom`.
    public var backflush: BackflushBasis?

    enum CodingKeys: String, CodingKey {
        case number, kind, location, due, notes, outputs, wip, fg, backflush
        case tolerancePercent = "tolerance_percent"
    }

    /// The command, numbered `number` or (without one) to be numbered on recording.
    public var command: CreateOrder {
        CreateOrder(
            number: number ?? "", kind: kind ?? .work, location: location, due: due, notes: notes ?? "",
            tolerancePercent: tolerancePercent ?? .zero,
            outputs: outputs.map { OutputSpec(sku: $0.sku, quantity: $0.quantity, unitCost: $0.unitCost) }, wip: wip,
            fg: fg, backflush: backflush)
    }
}

extension Replica {
    /// The inputs `quantity` of `sku` needs, one level deep or exploded to raw materials.
    public func explosion(of sku: SKU, quantity: Amount, levels: ExplosionLevels) throws -> ExplosionRow {
        let catalog = try catalog(subtreesOf: [sku])
        let lines = try catalog.explode(sku, quantity: quantity, levels: levels)
        return ExplosionRow(
            sku: sku, quantity: quantity, levels: levels.rawValue,
            inputs: lines.map { line in
                let item = catalog.items[line.sku]
                return ExplosionRow.Input(
                    sku: line.sku, kind: item?.kind.rawValue ?? "", unit: item?.unit ?? "", quantity: line.quantity)
            })
    }

    /// A page of the ledger after `cursor`, at most `limit` entries, and the cursor of the next page when there is
    /// one.
    public func ledgerPage(
        ref: OrderNumber?, sku: SKU?, after cursor: LedgerCursor?, limit: Int
    ) throws -> (entries: [LedgerRow], next: LedgerCursor?) {
        let rows = try ledger(
            ref: ref, sku: sku,
            after: cursor.map { ($0.lamport, $0.replica, $0.counter, $0.index) }, limit: limit + 1)
        let page = Array(rows.prefix(limit))
        return (page, rows.count > limit ? page.last.map(LedgerCursor.init(after:)) : nil)
    }

    /// Records a new order. With no number given, the order takes this replica's next default number, and the rest
    /// of the order is checked first: taking a number advances a persisted sequence, so a refusal changes nothing.
    /// Returns what was recorded and the number the order has; `bookkeeping` runs in the order's transaction.
    public func recordNewOrder(
        _ create: CreateOrder, numbered: Bool, bookkeeping: Bookkeeping? = nil
    ) throws -> (Recorded, OrderNumber) {
        var create = create
        // The plant's default basis, resolved here: the order's operation says which basis it has.
        if create.backflush == nil, let basis = try plantBackflush(), basis != .bom { create.backflush = basis }
        if !numbered {
            var probe = create
            probe.number = "new"
            var scratch = try workingSet(for: [.createOrder(probe)])
            while scratch.orders[probe.number] != nil { probe.number = OrderNumber(probe.number.rawValue + "_") }
            do {
                try scratch.apply(.createOrder(probe), context: ApplyContext(date: Self.businessDate(Date())))
            } catch { throw ReplicaError.refused(error) }
            create.number = try nextOrderNumber(kind: create.kind)
        }
        return (try record([.createOrder(create)], bookkeeping: bookkeeping)[0], create.number)
    }
}

/// A Make Transfer as the REST API (`POST /api/v1/orders/{number}/transfer`) and the MCP tool `transfer_order` take
/// it: without `lines`, what the order still needs.
public struct TransferRequest: Sendable, Decodable {
    public var from: String
    public var lines: [BOMLine]?
}

extension Replica {
    /// A Make Transfer for order `number` from `from`: the `lines` given, or (none) what the order still needs, each
    /// input's required quantity less what was transferred for it already. The operation carries the lines either
    /// way: it records what physically moved.
    public func makeTransfer(for number: OrderNumber, from: String, lines: [BOMLine]) throws -> OrderTransfer {
        guard lines.isEmpty else { return OrderTransfer(order: number, from: from, lines: lines) }
        guard let detail = try orderDetail(number) else { throw ReplicaError.refused(.unknownOrder(number)) }
        if detail.inputs.isEmpty, let status = OrderStatus(rawValue: detail.status), status == .draft {
            throw ReplicaError.refused(.transferNotOpen(order: number, status: status))
        }
        let needed = detail.inputs.compactMap { input -> BOMLine? in
            let quantity = input.required - input.transferred
            return quantity.isPositive ? BOMLine(sku: input.sku, quantity: quantity) : nil
        }
        guard !needed.isEmpty else { throw ReplicaError.refused(.nothingToTransfer(detail.number)) }
        return OrderTransfer(order: detail.number, from: from, lines: needed)
    }
}

extension Replica {
    /// The plant's default backflush basis as this replica knows it; nil when never set (`bom`).
    public func plantBackflush() throws -> BackflushBasis? {
        try read { db in
            try String.fetchOne(
                db, sql: "SELECT value FROM field_writes WHERE key = ?", arguments: [FieldKey.plantBackflush.rawValue]
            ).flatMap(BackflushBasis.init(rawValue:))
        }
    }
}
