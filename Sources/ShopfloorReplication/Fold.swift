import ShopfloorDomain

/// The projections as a fold: operations in canonical order through the domain core.
///
/// An operation the domain refuses while folding (possible only for operations merged from elsewhere, since the
/// authoring replica validates before recording) changes nothing and is recorded as a ``Rejection``, so every
/// replica with the same op set reaches the same state.
public struct Fold: Sendable {
    public private(set) var shop: Shop
    /// The canonical key of the last operation folded.
    public private(set) var last: CanonicalKey?
    public private(set) var rejections: [OperationID: Rejection] = [:]
    /// Folded operations count.
    public private(set) var count = 0

    public init() {
        shop = Shop()
    }

    /// Restores a fold from persisted projections.
    public init(shop: Shop, last: CanonicalKey?, rejections: [OperationID: Rejection], count: Int) {
        self.shop = shop
        self.last = last
        self.rejections = rejections
        self.count = count
    }

    /// True when `op` comes after everything folded, so it can be applied incrementally.
    public func canAppend(_ op: ShopOperation) -> Bool {
        guard let last else { return true }
        return last < op.key
    }

    /// Folds one operation (which must sort after ``last``).
    public mutating func apply(_ op: ShopOperation) -> FoldStep {
        precondition(canAppend(op), "operations must be folded in canonical order")
        last = op.key
        count += 1
        let command: Command
        do {
            command = try op.command()
        } catch {
            let rejection = Rejection(operation: op.id, code: error.code, message: error.description)
            rejections[op.id] = rejection
            return FoldStep(operation: op.id, entries: [], rejection: rejection, touched: Touched())
        }
        // Read before applying: a void names its receipt, not its order.
        var touched = Touched(command: command, shop: shop)
        do {
            var entries = try shop.apply(command, context: ApplyContext(operation: op.id.description, date: op.date))
            for index in entries.indices { entries[index].operation = op.id.description }
            touched.stock = Set(entries.map { StockKey(sku: $0.sku, location: $0.location) })
            return FoldStep(operation: op.id, entries: entries, rejection: nil, touched: touched)
        } catch {
            let rejection = Rejection(operation: op.id, code: "refused", message: error.description)
            rejections[op.id] = rejection
            return FoldStep(operation: op.id, entries: [], rejection: rejection, touched: Touched())
        }
    }

    /// Folds an operation authored here: a refusal throws and changes nothing, so it is never recorded.
    public mutating func applyLocal(_ op: ShopOperation, command: Command) throws(DomainError) -> FoldStep {
        precondition(canAppend(op), "a local operation sorts after everything this replica has seen")
        var touched = Touched(command: command, shop: shop)
        var entries = try shop.apply(command, context: ApplyContext(operation: op.id.description, date: op.date))
        last = op.key
        count += 1
        for index in entries.indices { entries[index].operation = op.id.description }
        touched.stock = Set(entries.map { StockKey(sku: $0.sku, location: $0.location) })
        return FoldStep(operation: op.id, entries: entries, rejection: nil, touched: touched)
    }
}

/// What folding one operation did.
public struct FoldStep: Sendable {
    public var operation: OperationID
    public var entries: [LedgerEntry]
    public var rejection: Rejection?
    public var touched: Touched
}

/// A merged operation the domain could not apply; kept so the outcome is visible, never silent.
public struct Rejection: Sendable, Hashable, Codable {
    public var operation: OperationID
    public var code: String
    public var message: String

    public init(operation: OperationID, code: String, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }
}

/// The projection rows an operation may have changed.
public struct Touched: Sendable {
    public var items: [String] = []
    public var locations: [String] = []
    public var boms: [String] = []
    public var orders: [String] = []
    public var stock: Set<StockKey> = []

    public init() {}

    init(command: Command, shop: Shop) {
        switch command {
        case .addItem(let item): items = [item.sku]
        case .addLocation(let location): locations = [location.code]
        case .setBOM(let bom): boms = [bom.parent]
        case .adjustStock, .transferStock: break
        case .createOrder(let create): orders = [create.number]
        case .setCost(let value): orders = [value.order]
        case .editOrder(let value): orders = [value.order]
        case .transition(let value): orders = [value.order]
        case .addReceipt(let value): orders = [value.order]
        case .voidReceipt(let value): orders = shop.receiptOrders[value.receipt].map { [$0] } ?? []
        }
    }
}
