/// Work orders pay for conversion; production orders for the whole manufactured product.
public enum OrderKind: String, Sendable, Codable, CaseIterable {
    case work
    case production

    /// Work orders take the BOM one level deep; production orders fully exploded.
    public var explosion: ExplosionLevels { self == .work ? .one : .full }
}

/// What a receipt (a back flush) consumes of each input, unless it states its actual consumption.
public enum BackflushBasis: String, Sendable, Codable, CaseIterable {
    /// The input snapshot in proportion to the quantity received; the completing receipt takes the exact rest.
    case bom
    /// What was transferred for the order (less what was scrapped), in proportion; the rest goes back on close.
    case transferred
}

/// An output line: what the order makes.
public struct OrderLine: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Amount
    /// Unit production cost (production orders) or conversion cost (work orders); may be open in Draft.
    public var unitCost: Amount?
    /// Produced by visible, unvoided receipts.
    public var produced: Amount = .zero
    /// Lost in the process by visible receipts (PROCESS_LOSS): counts toward progress, never produced.
    public var lost: Amount = .zero
    /// How far the line is: produced and lost.
    public var progress: Amount { produced + lost }
    /// ORDER not yet relieved by PRODUCE.
    public var onOrder: Amount = .zero
    /// The inputs for the whole line quantity, snapshotted at Enter.
    public var inputs: [BOMLine] = []
    /// Input quantity consumed so far for this line, per SKU.
    public var consumed: [SKU: Amount] = [:]

    public init(sku: SKU, quantity: Amount, unitCost: Amount? = nil) {
        self.sku = sku
        self.quantity = quantity
        self.unitCost = unitCost
    }

    enum CodingKeys: String, CodingKey {
        case sku, quantity, unitCost, produced, lost, onOrder, inputs, consumed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(SKU.self, forKey: .sku)
        quantity = try container.decode(Amount.self, forKey: .quantity)
        unitCost = try container.decodeIfPresent(Amount.self, forKey: .unitCost)
        produced = try container.decode(Amount.self, forKey: .produced)
        // Images written before process loss existed have none.
        lost = try container.decodeIfPresent(Amount.self, forKey: .lost) ?? .zero
        onOrder = try container.decode(Amount.self, forKey: .onOrder)
        inputs = try container.decode([BOMLine].self, forKey: .inputs)
        consumed = try container.decode([SKU: Amount].self, forKey: .consumed)
    }
}

/// What an order still holds against an input SKU.
public struct InputCommitment: Sendable, Hashable, Codable {
    public var sku: SKU
    /// Total input quantity from the snapshot.
    public var required: Amount
    /// DEMAND not yet allocated.
    public var demand: Amount = .zero
    /// ALLOCATE not yet consumed.
    public var allocated: Amount = .zero
    /// Moved into the WIP warehouse for the order (Make Transfer), in all.
    public var transferred: Amount = .zero
    /// Scrapped by the order's receipts (SCRAP), in all.
    public var scrapped: Amount = .zero

    public init(sku: SKU, required: Amount) {
        self.sku = sku
        self.required = required
    }

    /// What a transfer for the order still has to move for this input.
    public var toTransfer: Amount { Amount.maximum(.zero, required - transferred) }

    enum CodingKeys: String, CodingKey {
        case sku, required, demand, allocated, transferred, scrapped
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sku = try container.decode(SKU.self, forKey: .sku)
        required = try container.decode(Amount.self, forKey: .required)
        demand = try container.decode(Amount.self, forKey: .demand)
        allocated = try container.decode(Amount.self, forKey: .allocated)
        // Images written before transfers existed have none.
        transferred = try container.decodeIfPresent(Amount.self, forKey: .transferred) ?? .zero
        scrapped = try container.decodeIfPresent(Amount.self, forKey: .scrapped) ?? .zero
    }
}

/// A delivery of finished goods against an order.
public struct Receipt: Sendable, Hashable, Codable {
    public var id: String
    public var order: OrderNumber
    public var date: String
    public var lines: [BOMLine]
    public var voided: Bool = false
    /// The operation that voided it.
    public var voidedBy: String? = nil
    /// Position among all receipts recorded, in fold order (resolves duplicate ids deterministically).
    public var creationIndex: Int? = nil
    /// The operation that recorded the receipt (for causality checks); nil in pure domain use.
    public var operation: String? = nil
    /// The number the author typed, when it had to be renamed (rule 7).
    public var requestedID: String? = nil
    /// The stock entries the receipt wrote, so a void can reverse exactly them.
    public var entries: [LedgerEntry] = []
    /// For each entry, the output line (SKU) it belongs to.
    public var entryLines: [SKU]? = nil

    public init(id: String, order: OrderNumber, date: String, lines: [BOMLine]) {
        self.id = id
        self.order = order
        self.date = date
        self.lines = lines
    }
}

/// A work or production order.
public struct Order: Sendable, Hashable, Codable {
    public var number: OrderNumber
    public var kind: OrderKind
    public var location: String
    public var due: String?
    public var notes: String
    /// Over-receipt tolerance in percent of each line's quantity (default 0).
    public var tolerancePercent: Amount
    public var status: OrderStatus = .draft
    public var lines: [OrderLine]
    /// Aggregated input commitments, sorted by SKU; empty until Enter.
    public var inputs: [InputCommitment] = []
    public var receipts: [Receipt] = []
    /// The operation that created the order (for causality checks); nil in pure domain use.
    public var createdBy: String? = nil
    /// The number the author chose, when another order already had it (rule 7).
    public var requestedNumber: OrderNumber? = nil
    /// The operation that closed or cancelled the order.
    public var closedBy: String? = nil
    /// Position among all orders created, in fold order (resolves duplicate numbers deterministically).
    public var creationIndex: Int? = nil
    /// The WIP warehouse, when it is not `location`: inputs are demanded, allocated and consumed there.
    public var wip: String? = nil
    /// The finished-goods warehouse, when it is not `location`: outputs are on order and produced there.
    public var fg: String? = nil
    /// What receipts consume; nil is `bom`.
    public var backflush: BackflushBasis? = nil
    /// Optional so that an order image stored before transfers existed still decodes: see ``transfers``.
    var transferOperations: [String]? = nil

    /// The operations that transferred materials for the order (Make Transfer), in fold order.
    public var transfers: [String] {
        get { transferOperations ?? [] }
        set { transferOperations = newValue.isEmpty ? nil : newValue }
    }

    public init(
        number: OrderNumber, kind: OrderKind, location: String, due: String? = nil, notes: String = "",
        tolerancePercent: Amount = .zero, lines: [OrderLine]
    ) {
        self.number = number
        self.kind = kind
        self.location = location
        self.due = due
        self.notes = notes
        self.tolerancePercent = tolerancePercent
        self.lines = lines
    }

    /// What receipts consume.
    public var basis: BackflushBasis { backflush ?? .bom }

    /// Where the inputs are staged, allocated and consumed.
    public var wipLocation: String { wip ?? location }
    /// Where the finished goods land.
    public var fgLocation: String { fg ?? location }
    /// Every location the order's entries touch.
    public var locations: [String] { Array(Set([location, wipLocation, fgLocation])).sorted() }

    /// Receipts that count (not voided).
    public var visibleReceipts: [Receipt] { receipts.filter { !$0.voided } }

    public func lineIndex(_ sku: SKU) throws(DomainError) -> Int {
        guard let index = lines.firstIndex(where: { $0.sku == sku }) else {
            throw .notAnOutput(order: number, sku: sku, outputs: lines.map(\.sku))
        }
        return index
    }

    /// True when every line has received at least its ordered quantity.
    public var isFullyReceived: Bool { lines.allSatisfy { $0.progress >= $0.quantity } }
}
