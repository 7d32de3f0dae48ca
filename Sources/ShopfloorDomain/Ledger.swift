/// The event types of the inventory ledger (DESIGN.md §2).
public enum LedgerEvent: String, Sendable, Codable, CaseIterable {
    case order = "ORDER"
    case demand = "DEMAND"
    case allocate = "ALLOCATE"
    case consume = "CONSUME"
    case produce = "PRODUCE"
    case reverseOrder = "REVERSE_ORDER"
    case reverseDemand = "REVERSE_DEMAND"
    case reverseAllocate = "REVERSE_ALLOCATE"
    case reverseConsume = "REVERSE_CONSUME"
    case reverseProduce = "REVERSE_PRODUCE"
    case adjust = "ADJUST"
    case transfer = "TRANSFER"
    /// An input scrapped in making a receipt's goods, taken from WIP at the moving average (schema 2).
    case scrap = "SCRAP"
    case reverseScrap = "REVERSE_SCRAP"
    /// Output lost in the process: moves no stock; relieves what is on order for it (schema 2).
    case processLoss = "PROCESS_LOSS"
    case reverseProcessLoss = "REVERSE_PROCESS_LOSS"

    /// Whether the event moves stock (on hand and value) rather than a commitment.
    public var movesStock: Bool {
        switch self {
        case .adjust, .transfer, .consume, .produce, .reverseConsume, .reverseProduce, .scrap, .reverseScrap: true
        case .order, .demand, .allocate, .reverseOrder, .reverseDemand, .reverseAllocate, .processLoss,
            .reverseProcessLoss:
            false
        }
    }
}

/// One immutable ledger entry.
///
/// `quantity` is signed the way the event moves stock or commitments: positive for ORDER, DEMAND,
/// ALLOCATE, PRODUCE, REVERSE_CONSUME and stock coming in by ADJUST/TRANSFER; negative for CONSUME,
/// REVERSE_PRODUCE, the REVERSE_ commitments and stock going out. `value` is the change in stock value
/// (absent for commitment events). `relieved` is how much of a commitment a stock movement settled:
/// PRODUCE relieves ORDER, CONSUME relieves ALLOCATE; their reversals restore it.
public struct LedgerEntry: Sendable, Hashable, Codable {
    public var sku: SKU
    public var location: String
    public var event: LedgerEvent
    public var quantity: Amount
    public var unitCost: Amount?
    public var value: Amount?
    public var relieved: Amount
    /// The order whose commitments or receipts wrote the entry.
    public var ref: OrderNumber?
    public var date: String
    /// The operation that caused the entry (set by the replication layer; empty in pure domain use).
    public var operation: String

    public init(
        sku: SKU, location: String, event: LedgerEvent, quantity: Amount, unitCost: Amount? = nil,
        value: Amount? = nil, relieved: Amount = .zero, ref: OrderNumber? = nil, date: String, operation: String
    ) {
        self.sku = sku
        self.location = location
        self.event = event
        self.quantity = quantity
        self.unitCost = unitCost
        self.value = value
        self.relieved = relieved
        self.ref = ref
        self.date = date
        self.operation = operation
    }

    /// What this entry adds to its SKU's position at its location.
    public var delta: PositionDelta {
        var d = PositionDelta()
        d.value = value ?? .zero
        switch event {
        case .order, .reverseOrder: d.onOrder = quantity
        case .demand, .reverseDemand: d.demand = quantity
        case .allocate, .reverseAllocate:
            // Allocating turns demand into allocation; its reversal turns it back.
            d.allocated = quantity
            d.demand = -quantity
        case .consume:
            d.onHand = quantity
            d.allocated = -relieved
        case .reverseConsume:
            d.onHand = quantity
            d.allocated = relieved
        case .produce:
            d.onHand = quantity
            d.onOrder = -relieved
        case .reverseProduce:
            d.onHand = quantity
            d.onOrder = relieved
        case .adjust, .transfer, .scrap, .reverseScrap:
            d.onHand = quantity
        case .processLoss: d.onOrder = -relieved
        case .reverseProcessLoss: d.onOrder = relieved
        }
        return d
    }
}

/// Changes to a position.
public struct PositionDelta: Sendable, Hashable {
    public var onHand: Amount = .zero
    public var onOrder: Amount = .zero
    public var demand: Amount = .zero
    public var allocated: Amount = .zero
    public var value: Amount = .zero
}

/// A SKU's stock position at one location, computed from ledger entries.
public struct Position: Sendable, Hashable, Codable {
    public var sku: SKU
    public var location: String
    public var onHand: Amount = .zero
    /// ORDER not yet produced.
    public var onOrder: Amount = .zero
    /// DEMAND not yet allocated.
    public var demand: Amount = .zero
    /// ALLOCATE not yet consumed.
    public var allocated: Amount = .zero
    public var value: Amount = .zero

    public init(sku: SKU, location: String) {
        self.sku = sku
        self.location = location
    }

    public var available: Amount { onHand - allocated }
    public var projected: Amount { onHand + onOrder - demand - allocated }

    public mutating func apply(_ delta: PositionDelta) {
        onHand += delta.onHand
        onOrder += delta.onOrder
        demand += delta.demand
        allocated += delta.allocated
        value += delta.value
    }

    /// Folds entries into positions, keyed by ``StockKey``.
    public static func from(_ entries: some Sequence<LedgerEntry>) -> [StockKey: Position] {
        var positions: [StockKey: Position] = [:]
        for entry in entries {
            let key = StockKey(sku: entry.sku, location: entry.location)
            positions[key, default: Position(sku: entry.sku, location: entry.location)].apply(entry.delta)
        }
        return positions
    }
}

/// A SKU at a location.
public struct StockKey: Sendable, Hashable, Codable, Comparable {
    public var sku: SKU
    public var location: String

    public init(sku: SKU, location: String) {
        self.sku = sku
        self.location = location
    }

    public static func < (lhs: StockKey, rhs: StockKey) -> Bool {
        (lhs.sku, lhs.location) < (rhs.sku, rhs.location)
    }
}
