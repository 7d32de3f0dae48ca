/// Every change the domain accepts. The replication layer wraps each in an operation.
public enum Command: Sendable, Hashable {
    case addItem(Item)
    case addLocation(Location)
    case setBOM(SetBOM)
    case adjustStock(AdjustStock)
    case transferStock(TransferStock)
    case createOrder(CreateOrder)
    case setCost(SetCost)
    case editOrder(EditOrder)
    case transition(OrderTransition)
    case addReceipt(AddReceipt)
    case voidReceipt(VoidReceipt)
    case acknowledgeConflict(AcknowledgeConflict)
    /// Make Transfer: materials moved into an order's WIP warehouse, as TRANSFER entries with the order as `ref`.
    case transferToOrder(OrderTransfer)
    /// The plant's defaults (Manufacturing Settings): the backflush basis new orders take.
    case setPlantDefault(PlantDefault)
}

/// The plant's defaults. A device resolves them when it records a new order, so the order's operation says its
/// basis; concurrent changes are rule 5's (the later wins, a concurrent-edit conflict lists both).
public struct PlantDefault: Sendable, Hashable, Codable {
    public var backflush: BackflushBasis
    public init(backflush: BackflushBasis) {
        self.backflush = backflush
    }
}

public struct AcknowledgeConflict: Sendable, Hashable, Codable {
    public var conflict: String
    public var note: String
    public init(conflict: String, note: String = "") {
        self.conflict = conflict
        self.note = note
    }
}

public struct SetBOM: Sendable, Hashable, Codable {
    public var parent: SKU
    public var lines: [BOMLine]
    public init(parent: SKU, lines: [BOMLine]) {
        self.parent = parent
        self.lines = lines
    }
}

public struct AdjustStock: Sendable, Hashable, Codable {
    public var sku: SKU
    public var location: String
    /// Signed: positive brings stock in, negative takes it out.
    public var quantity: Amount
    /// Only for stock coming in; absent means the current rate.
    public var unitCost: Amount?
    public init(sku: SKU, location: String, quantity: Amount, unitCost: Amount? = nil) {
        self.sku = sku
        self.location = location
        self.quantity = quantity
        self.unitCost = unitCost
    }
}

public struct TransferStock: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Amount
    public var from: String
    public var to: String
    public init(sku: SKU, quantity: Amount, from: String, to: String) {
        self.sku = sku
        self.quantity = quantity
        self.from = from
        self.to = to
    }
}

public struct OutputSpec: Sendable, Hashable, Codable {
    public var sku: SKU
    public var quantity: Amount
    public var unitCost: Amount?
    public init(sku: SKU, quantity: Amount, unitCost: Amount? = nil) {
        self.sku = sku
        self.quantity = quantity
        self.unitCost = unitCost
    }
}

public struct CreateOrder: Sendable, Hashable, Codable {
    public var number: OrderNumber
    public var kind: OrderKind
    public var location: String
    public var due: String?
    public var notes: String
    public var tolerancePercent: Amount
    public var outputs: [OutputSpec]
    /// Where the inputs are staged and consumed; absent means `location` (schema 2).
    public var wip: String?
    /// Where the finished goods land; absent means `location` (schema 2).
    public var fg: String?
    /// What a receipt consumes; absent means `bom` (schema 2).
    public var backflush: BackflushBasis?
    public init(
        number: OrderNumber, kind: OrderKind, location: String, due: String? = nil, notes: String = "",
        tolerancePercent: Amount = .zero, outputs: [OutputSpec], wip: String? = nil, fg: String? = nil,
        backflush: BackflushBasis? = nil
    ) {
        self.number = number
        self.kind = kind
        self.location = location
        self.due = due
        self.notes = notes
        self.tolerancePercent = tolerancePercent
        self.outputs = outputs
        self.wip = wip
        self.fg = fg
        self.backflush = backflush
    }
}

/// Materials moved from `from` into the order's WIP warehouse for the order (ERPNext's Make Transfer).
public struct OrderTransfer: Sendable, Hashable, Codable {
    public var order: OrderNumber
    public var from: String
    /// What moved, per input SKU: the author states it (the CLI fills in what the order still needs).
    public var lines: [BOMLine]
    public init(order: OrderNumber, from: String, lines: [BOMLine]) {
        self.order = order
        self.from = from
        self.lines = lines
    }
}

public struct SetCost: Sendable, Hashable, Codable {
    public var order: OrderNumber
    public var sku: SKU
    public var unitCost: Amount
    public init(order: OrderNumber, sku: SKU, unitCost: Amount) {
        self.order = order
        self.sku = sku
        self.unitCost = unitCost
    }
}

/// Header edits; absent fields are left as they are.
public struct EditOrder: Sendable, Hashable, Codable {
    public var order: OrderNumber
    public var due: String?
    public var notes: String?
    public var tolerancePercent: Amount?
    public init(order: OrderNumber, due: String? = nil, notes: String? = nil, tolerancePercent: Amount? = nil) {
        self.order = order
        self.due = due
        self.notes = notes
        self.tolerancePercent = tolerancePercent
    }
}

public struct OrderTransition: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable {
        case enter, start, complete, cancel
        var event: OrderEvent {
            switch self {
            case .enter: .enter
            case .start: .start
            case .complete: .complete
            case .cancel: .cancel
            }
        }
    }
    public var order: OrderNumber
    public var action: Action
    public init(order: OrderNumber, action: Action) {
        self.order = order
        self.action = action
    }
}

public struct AddReceipt: Sendable, Hashable, Codable {
    public var order: OrderNumber
    public var receipt: String
    public var lines: [BOMLine]
    /// Business date of the delivery; absent means the operation's date.
    public var date: String?
    /// Actual consumption of inputs by this receipt, overriding the order's backflush basis for them (schema 2).
    public var consumed: [BOMLine]?
    /// Inputs scrapped in making this delivery: taken from WIP at the moving average (SCRAP), schema 2.
    public var scrap: [BOMLine]?
    /// Output lost in the process, per output received here: it counts toward the line's progress and consumes its
    /// inputs, but nothing is produced for it (PROCESS_LOSS), schema 2.
    public var loss: [BOMLine]?
    public init(
        order: OrderNumber, receipt: String, lines: [BOMLine], date: String? = nil, consumed: [BOMLine]? = nil,
        scrap: [BOMLine]? = nil, loss: [BOMLine]? = nil
    ) {
        self.order = order
        self.receipt = receipt
        self.lines = lines
        self.date = date
        self.consumed = consumed
        self.scrap = scrap
        self.loss = loss
    }
}

public struct VoidReceipt: Sendable, Hashable, Codable {
    public var receipt: String
    public init(receipt: String) {
        self.receipt = receipt
    }
}

extension Command {
    /// The lowest operation schema that can carry this command: 2 for what schema 2 added (an order's own WIP or FG
    /// warehouse and backflush basis, Make Transfer, a receipt's actual consumption and scrap), 1 for everything else, so a plant that uses none of it writes what older builds
    /// read.
    public var schema: Int {
        switch self {
        case .createOrder(let create): create.wip == nil && create.fg == nil && create.backflush == nil ? 1 : 2
        case .addReceipt(let add): add.consumed == nil && add.scrap == nil && add.loss == nil ? 1 : 2
        case .transferToOrder, .setPlantDefault: 2
        default: 1
        }
    }
}

/// Validates a YYYY-MM-DD business date.
public func validateDate(_ text: String) throws(DomainError) {
    // Bytes, not Characters: this runs for every operation folded.
    let bytes = Array(text.utf8)
    guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else {
        throw .invalidDate(text)
    }
    func number(_ range: Range<Int>) -> Int? {
        var value = 0
        for byte in bytes[range] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
    guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), year >= 1,
        (1...12).contains(month)
    else { throw .invalidDate(text) }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    guard (1...days).contains(day) else { throw .invalidDate(text) }
}
