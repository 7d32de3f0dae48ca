import ShopfloorDomain

/// The projections as a fold: operations in canonical order through the domain core.
///
/// Merged operations are applied in the domain's merge mode: physical facts are kept and problems become
/// ``Conflict``s. An operation the domain still cannot apply at its place in the canonical order changes nothing
/// and is recorded as a `refused-operation` conflict, so every replica with the same op set reaches the same state.
public struct Fold: Sendable {
    /// Bumped whenever the fold's semantics change: a replica folded by another version is rebuilt on open.
    public static let version = 5

    public private(set) var shop: Shop
    /// The canonical key of the last operation folded.
    public private(set) var last: CanonicalKey?
    /// Folded operations count.
    public private(set) var count = 0

    public init() {
        shop = Shop()
    }

    /// Restores a fold from persisted projections.
    public init(shop: Shop, last: CanonicalKey?, count: Int) {
        self.shop = shop
        self.last = last
        self.count = count
    }

    /// Relabels the last folded operation's key (HQ's sequence number arrived for it; the order is unchanged).
    public mutating func relabelLast(_ key: CanonicalKey) {
        last = key
    }

    /// True when `op` comes after everything folded, so it can be applied incrementally.
    public func canAppend(_ op: ShopOperation) -> Bool {
        guard let last else { return true }
        return last < op.key
    }

    static func context(for op: ShopOperation, mode: ApplyContext.Mode) -> ApplyContext {
        let vector = op.context
        return ApplyContext(
            operation: op.id.description, date: op.date, mode: mode, author: op.id.replica,
            saw: { id in OperationID(id).map { vector.contains($0) } ?? false })
    }

    /// Folds one merged operation (which must sort after ``last``).
    public mutating func apply(_ op: ShopOperation) -> FoldStep {
        precondition(canAppend(op), "operations must be folded in canonical order")
        last = op.key
        count += 1
        let context = Self.context(for: op, mode: .merge)
        let command: Command
        do {
            command = try op.command()
        } catch {
            shop.flagRefused(subject: op.kind, context: context, explanation: error.description)
            return FoldStep(operation: op.id, entries: [], conflicts: shop.lastConflicts, touched: Touched())
        }
        var touched = Touched(command: command, shop: shop)
        do {
            let entries = try shop.apply(command, context: context)
            touched.stock = Set(entries.map { StockKey(sku: $0.sku, location: $0.location) })
            touched.resolve(in: shop)
            return FoldStep(operation: op.id, entries: entries, conflicts: shop.lastConflicts, touched: touched)
        } catch {
            shop.flagRefused(subject: touched.subject ?? op.kind, context: context, explanation: error.description)
            return FoldStep(operation: op.id, entries: [], conflicts: shop.lastConflicts, touched: Touched())
        }
    }

    /// Folds an operation authored here: a refusal throws and changes nothing, so it is never recorded.
    public mutating func applyLocal(_ op: ShopOperation, command: Command) throws(DomainError) -> FoldStep {
        precondition(canAppend(op), "a local operation sorts after everything this replica has seen")
        var touched = Touched(command: command, shop: shop)
        let entries = try shop.apply(command, context: Self.context(for: op, mode: .local))
        last = op.key
        count += 1
        touched.stock = Set(entries.map { StockKey(sku: $0.sku, location: $0.location) })
        touched.resolve(in: shop)
        return FoldStep(operation: op.id, entries: entries, conflicts: shop.lastConflicts, touched: touched)
    }
}

/// What folding one operation did.
public struct FoldStep: Sendable {
    public var operation: OperationID
    public var entries: [LedgerEntry]
    /// Conflicts this operation raised.
    public var conflicts: [Conflict]
    public var touched: Touched
}

/// The projection rows an operation may have changed.
public struct Touched: Sendable {
    public var items: [String] = []
    public var locations: [String] = []
    public var boms: [String] = []
    public var orders: [String] = []
    public var stock: Set<StockKey> = []
    public var acknowledgements: [String] = []
    /// Field-write keys to persist.
    public var fields: [String] = []
    /// Order numbers or receipt ids as the command named them (resolved after applying).
    var requestedOrders: [String] = []
    var requestedReceipts: [String] = []

    public init() {}

    /// What a refusal names as its subject.
    var subject: String? { requestedOrders.first ?? requestedReceipts.first ?? items.first ?? boms.first }

    init(command: Command, shop: Shop) {
        switch command {
        case .addItem(let item):
            items = [item.sku]
            fields = ["item:\(item.sku)"]
        case .addLocation(let location): locations = [location.code]
        case .setBOM(let bom):
            boms = [bom.parent]
            fields = ["bom:\(bom.parent)"]
        case .adjustStock, .transferStock: break
        case .createOrder(let create): requestedOrders = [create.number]
        case .setCost(let value): requestedOrders = [value.order]
        case .editOrder(let value): requestedOrders = [value.order]
        case .transition(let value): requestedOrders = [value.order]
        case .addReceipt(let value): requestedOrders = [value.order]
        case .voidReceipt(let value): requestedReceipts = [value.receipt]
        case .acknowledgeConflict(let value): acknowledgements = [value.conflict]
        }
    }

    /// Turns requested numbers into every order they may now name (renamed duplicates included).
    mutating func resolve(in shop: Shop) {
        var numbers = Set<String>()
        for number in requestedOrders {
            numbers.insert(number)
            numbers.formUnion(shop.orderAliases[number] ?? [])
        }
        for id in requestedReceipts {
            for candidate in [id] + (shop.receiptAliases[id] ?? []) {
                if let order = shop.receiptOrders[candidate] { numbers.insert(order) }
            }
        }
        orders = numbers.filter { shop.orders[$0] != nil }.sorted()
        for number in orders {
            // The editable fields of an order, looked up directly (no scan of every field write).
            let keys =
                shop.orders[number]!.lines.map { "order:\(number):cost:\($0.sku)" }
                + ["due", "notes", "tolerance"].map { "order:\(number):\($0)" }
            fields += keys.filter { shop.fieldWrites[$0] != nil }
        }
    }
}
