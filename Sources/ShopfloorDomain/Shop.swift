/// The whole domain state of one replica: catalog, orders, valuations and positions, and the conflict log.
///
/// ``apply(_:context:)`` is the only way to change it. A refused command throws a ``DomainError`` and leaves
/// the shop exactly as it was; an accepted one returns the ledger entries it wrote, in order.
///
/// The state is held by small reducers that `apply` dispatches to: the ``Catalog``, an `OrderBook`, the
/// `Inventory` and the `ConflictLog`. Where a command recorded here and a merged operation are treated
/// differently, the `ApplyPolicy` of the context's mode decides (`LocalValidation` or `MergeRules`).
public struct Shop: Sendable {
    public var catalog = Catalog()
    var book = OrderBook()
    var inventory = Inventory()
    var log = ConflictLog()

    public init() {}

    /// Applies one command; on error nothing changes.
    @discardableResult
    public mutating func apply(_ command: Command, context: ApplyContext) throws(DomainError) -> [LedgerEntry] {
        // The one place the mode is read: each policy gets its own specialization of the reducers.
        switch context.mode {
        case .local: try apply(command, context: context, policy: LocalValidation())
        case .merge: try apply(command, context: context, policy: MergeRules())
        }
    }

    private mutating func apply(
        _ command: Command, context: ApplyContext, policy: some ApplyPolicy
    ) throws(DomainError) -> [LedgerEntry] {
        log.begin()
        book.lastEntryLines = nil
        try policy.admit(command)
        let entries: [LedgerEntry]
        switch command {
        case .addItem(let item):
            try catalog.addItem(item, context: context, policy: policy, log: &log)
            entries = []
        case .addLocation(let location):
            try catalog.addLocation(location, policy: policy)
            entries = []
        case .setBOM(let bom):
            try catalog.setBOM(bom, context: context, log: &log)
            entries = []
        case .adjustStock(let adjust): entries = try inventory.adjust(adjust, context: context, catalog: catalog)
        case .transferStock(let transfer):
            entries = try inventory.transfer(transfer, context: context, catalog: catalog)
        case .createOrder(let create):
            try book.create(create, context: context, policy: policy, catalog: catalog, log: &log)
            entries = []
        case .setCost(let setCost):
            try book.setCost(setCost, context: context, policy: policy, log: &log)
            entries = []
        case .editOrder(let edit):
            try book.edit(edit, context: context, policy: policy, log: &log)
            entries = []
        case .transition(let transition):
            entries = try book.transition(
                transition, context: context, policy: policy, catalog: catalog, inventory: &inventory, log: &log)
        case .addReceipt(let receipt):
            entries = try book.addReceipt(
                receipt, context: context, policy: policy, inventory: &inventory, log: &log)
        case .voidReceipt(let void):
            entries = try book.voidReceipt(void, context: context, policy: policy, inventory: &inventory, log: &log)
        case .acknowledgeConflict(let ack):
            try log.acknowledge(ack, context: context, policy: policy)
            entries = []
        case .transferToOrder(let transfer):
            entries = try book.transfer(
                transfer, context: context, policy: policy, catalog: catalog, inventory: &inventory, log: &log)
        case .setPlantDefault(let value):
            log.write(field: .plantBackflush, value: value.backflush.rawValue, subject: "plant", context: context)
            entries = []
        }
        inventory.post(entries, context: context, log: &log)
        log.commit()
        return entries
    }

    /// Records an operation that could not be applied in merge mode (it changes nothing).
    public mutating func flagRefused(subject: String, context: ApplyContext, explanation: String) {
        log.flagRefused(subject: subject, context: context, explanation: explanation)
    }

    public func order(_ number: OrderNumber) throws(DomainError) -> Order {
        try book.order(number)
    }

    public func position(sku: SKU, location: String) -> Position {
        inventory.position(sku: sku, location: location)
    }

    public func valuation(sku: SKU, location: String) -> Valuation {
        inventory.valuation(sku: sku, location: location)
    }
}

/// The state other modules read (projections, digests, the simulator's checks), forwarded from the reducers that
/// own it.
extension Shop {
    public var orders: [OrderNumber: Order] { book.orders }
    /// Receipt id → order number.
    public var receiptOrders: [String: OrderNumber] { book.receiptOrders }
    /// Requested order number → the numbers of renamed orders that asked for it (rule 7).
    public var orderAliases: [OrderNumber: [OrderNumber]] { book.orderAliases }
    /// Requested receipt id → renamed receipt ids.
    public var receiptAliases: [String: [String]] { book.receiptAliases }
    /// For each ledger entry of the last successful receipt, the output line (SKU) it belongs to; nil otherwise.
    public var lastEntryLines: [SKU]? { book.lastEntryLines }
    public var valuations: [StockKey: Valuation] { inventory.valuations }
    /// Positions maintained from the entries written.
    public var positions: [StockKey: Position] { inventory.positions }
    /// Every conflict, in fold order.
    public var conflicts: [Conflict] { log.conflicts }
    /// The conflicts raised by the last successful ``apply(_:context:)``.
    public var lastConflicts: [Conflict] { log.lastConflicts }
    /// Conflict id → acknowledgement.
    public var acknowledgements: [String: Acknowledgement] { log.acknowledgements }
    /// Field → last writer (rule 5).
    public var fieldWrites: [FieldKey: FieldWrite] { log.fieldWrites }
    /// The plant's default backflush basis, when the working set read it.
    public var plantBackflush: BackflushBasis? {
        log.fieldWrites[.plantBackflush].flatMap { BackflushBasis(rawValue: $0.value) }
    }
}
