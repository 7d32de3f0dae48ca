import ShopfloorDomain

/// The projections as a fold: operations in canonical order through the domain core.
///
/// Merged operations are applied in the domain's merge mode: physical facts are kept and problems become
/// ``Conflict``s. An operation the domain still cannot apply at its place in the canonical order changes nothing
/// and is recorded as a `refused-operation` conflict, so every replica with the same op set reaches the same state.
///
/// A fold need not hold the whole domain: a store hands it the working set a batch will read (see
/// ``WorkingSetKeys``), folds the batch in memory and writes back only what changed.
public struct Fold: Sendable {
    /// Bumped whenever the fold's semantics or the projection tables change: a replica folded by another version
    /// is rebuilt on open.
    public static let version = 7

    public private(set) var shop: Shop
    /// The canonical key of the last operation folded.
    public private(set) var last: CanonicalKey?
    /// Folded operations count.
    public private(set) var count = 0

    public init() {
        shop = Shop()
    }

    /// Continues a fold from persisted projections (all of them, or a working set).
    public init(shop: Shop, last: CanonicalKey?, count: Int) {
        self.shop = shop
        self.last = last
        self.count = count
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
            return FoldStep(operation: op.id, entries: [], entryLines: nil, conflicts: shop.lastConflicts)
        }
        return apply(command, op: op, context: context)
    }

    /// Folds one merged operation whose command is already decoded.
    public mutating func apply(_ command: Command, op: ShopOperation) -> FoldStep {
        precondition(canAppend(op), "operations must be folded in canonical order")
        last = op.key
        count += 1
        return apply(command, op: op, context: Self.context(for: op, mode: .merge))
    }

    private mutating func apply(_ command: Command, op: ShopOperation, context: ApplyContext) -> FoldStep {
        do {
            let entries = try shop.apply(command, context: context)
            return FoldStep(
                operation: op.id, entries: entries, entryLines: shop.lastEntryLines, conflicts: shop.lastConflicts)
        } catch {
            shop.flagRefused(subject: command.subject ?? op.kind, context: context, explanation: error.description)
            return FoldStep(operation: op.id, entries: [], entryLines: nil, conflicts: shop.lastConflicts)
        }
    }

    /// Folds an operation authored here: a refusal throws and changes nothing, so it is never recorded.
    public mutating func applyLocal(_ op: ShopOperation, command: Command) throws(DomainError) -> FoldStep {
        precondition(canAppend(op), "a local operation sorts after everything this replica has seen")
        let entries = try shop.apply(command, context: Self.context(for: op, mode: .local))
        last = op.key
        count += 1
        return FoldStep(
            operation: op.id, entries: entries, entryLines: shop.lastEntryLines, conflicts: shop.lastConflicts)
    }
}

/// What folding one operation did.
public struct FoldStep: Sendable {
    public var operation: OperationID
    public var entries: [LedgerEntry]
    /// For a receipt, the output line of each entry.
    public var entryLines: [SKU]?
    /// Conflicts this operation raised.
    public var conflicts: [Conflict]
}

extension Command {
    /// What a refusal names as its subject.
    var subject: String? {
        switch self {
        case .addItem(let item): item.sku.rawValue
        case .addLocation: nil
        case .setBOM(let bom): bom.parent.rawValue
        case .adjustStock, .transferStock: nil
        case .createOrder(let create): create.number.rawValue
        case .setCost(let value): value.order.rawValue
        case .editOrder(let value): value.order.rawValue
        case .transition(let value): value.order.rawValue
        case .addReceipt(let value): value.order.rawValue
        case .voidReceipt(let value): value.receipt
        case .acknowledgeConflict(let ack): ack.conflict
        case .transferToOrder(let value): value.order.rawValue
        case .setPlantDefault: "plant"
        }
    }
}
