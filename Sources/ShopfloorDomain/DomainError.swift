/// Every refusal the domain can make. Each message names the problem and what to do about it.
public enum DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidCode(what: String, code: String)
    case outOfBounds(BoundsViolation)
    case unknownItem(SKU)
    case unknownLocation(String)
    case duplicateItem(SKU)
    case duplicateLocation(String)
    case materialCannotHaveBOM(SKU)
    case emptyBOM(SKU)
    case bomListsItself(SKU)
    case duplicateBOMLine(parent: SKU, sku: SKU)
    case bomCycle([SKU])
    case noBOM(SKU)
    case nonPositiveQuantity(context: String, quantity: Amount)
    case zeroQuantity(context: String)
    case negativeCost(context: String, cost: Amount)
    case unitCostOnOutgoing(sku: SKU)
    case sameLocation(String)
    case invalidDate(String)
    case invalidTolerance(Amount)
    case arithmetic(AmountError)
    case unknownOrder(OrderNumber)
    case duplicateOrder(OrderNumber)
    case emptyOrder(OrderNumber)
    case duplicateOutput(order: OrderNumber, sku: SKU)
    case notProducible(sku: SKU, kind: ItemKind)
    case notAnOutput(order: OrderNumber, sku: SKU, outputs: [SKU])
    case forbiddenTransition(order: OrderNumber, status: OrderStatus, event: OrderEvent, allowed: [OrderEvent])
    case costNotSet(order: OrderNumber, sku: SKU)
    case overReceipt(
        order: OrderNumber, sku: SKU, ordered: Amount, received: Amount, receiving: Amount, tolerancePercent: Amount)
    case cancelWithReceipts(order: OrderNumber, receipts: [String])
    case unknownReceipt(String)
    case duplicateReceipt(String)
    case receiptAlreadyVoided(String)
    case emptyReceipt(OrderNumber)
    case duplicateReceiptLine(order: OrderNumber, sku: SKU)
    case unknownConflict(String)
    case alreadyAcknowledged(String)
    case emptyTransfer(OrderNumber)
    case duplicateTransferLine(order: OrderNumber, sku: SKU)
    case notAnInput(order: OrderNumber, sku: SKU, inputs: [SKU])
    case transferNotOpen(order: OrderNumber, status: OrderStatus)
    case nothingToTransfer(OrderNumber)

    public var description: String {
        switch self {
        case .invalidCode(let what, let code):
            "invalid \(what) '\(code)': use 1–64 letters, digits, '-', '_', '.' or '/'"
        case .outOfBounds(let violation): "\(violation); nothing was recorded"
        case .unknownItem(let sku): "unknown SKU '\(sku)': add the item to the catalog first"
        case .unknownLocation(let code): "unknown location '\(code)': add the location first"
        case .duplicateItem(let sku): "SKU '\(sku)' already exists"
        case .duplicateLocation(let code): "location '\(code)' already exists"
        case .materialCannotHaveBOM(let sku):
            "'\(sku)' is a material and cannot have a BOM; make it a component or product"
        case .emptyBOM(let sku): "the BOM of '\(sku)' has no lines: give at least one CHILD=QTY"
        case .bomListsItself(let sku): "the BOM of '\(sku)' lists '\(sku)' itself"
        case .duplicateBOMLine(let parent, let sku):
            "the BOM of '\(parent)' lists '\(sku)' twice: give one line with the total"
        case .bomCycle(let loop):
            "BOM cycle: \(loop.map(\.rawValue).joined(separator: " → ")); remove one of these links"
        case .noBOM(let sku): "'\(sku)' has no BOM: set its bill of materials first"
        case .nonPositiveQuantity(let context, let quantity): "\(context): quantity must be positive, got \(quantity)"
        case .zeroQuantity(let context): "\(context): quantity must not be zero"
        case .negativeCost(let context, let cost): "\(context): cost must not be negative, got \(cost)"
        case .unitCostOnOutgoing(let sku):
            "a unit cost applies only to stock coming in; '\(sku)' goes out at its weighted-average cost"
        case .sameLocation(let code): "a transfer needs two different locations, got '\(code)' twice"
        case .invalidDate(let text): "'\(text)' is not a date: use YYYY-MM-DD"
        case .invalidTolerance(let value): "tolerance must be between 0 and 1000 percent, got \(value)"
        case .arithmetic(let error): "arithmetic: \(error.description)"
        case .unknownOrder(let number): "unknown order '\(number)'"
        case .duplicateOrder(let number):
            "order number '\(number)' is already used: choose another, or let the replica number the order"
        case .emptyOrder(let number): "order '\(number)' has no output lines: give at least one output and quantity"
        case .duplicateOutput(let order, let sku): "order '\(order)' lists output '\(sku)' twice: give one line"
        case .notProducible(let sku, let kind): "'\(sku)' is a \(kind.rawValue) and cannot be an order output"
        case .notAnOutput(let order, let sku, let outputs):
            "'\(sku)' is not an output of order '\(order)' (outputs: \(outputs.map(\.rawValue).joined(separator: ", ")))"
        case .forbiddenTransition(let order, let status, let event, let allowed):
            "order '\(order)' is \(status.rawValue): cannot \(event.rawValue); allowed: "
                + (allowed.isEmpty ? "nothing (the order is closed)" : allowed.map(\.rawValue).joined(separator: ", "))
        case .costNotSet(let order, let sku):
            "order '\(order)' has no unit cost for '\(sku)': set the line's cost first"
        case .overReceipt(let order, let sku, let ordered, let received, let receiving, let tolerance):
            "receiving \(receiving) '\(sku)' on order '\(order)' exceeds ordered \(ordered) + \(tolerance)% "
                + "(already received \(received)); receive less or raise the order's tolerance"
        case .cancelWithReceipts(let order, let receipts):
            "order '\(order)' has receipts (\(receipts.joined(separator: ", "))): void them first, or close it short "
                + "(complete it)"
        case .unknownReceipt(let id): "unknown receipt '\(id)'"
        case .duplicateReceipt(let id): "receipt id '\(id)' is already used"
        case .receiptAlreadyVoided(let id): "receipt '\(id)' is already voided"
        case .emptyReceipt(let order): "a receipt on order '\(order)' needs at least one SKU=QTY line"
        case .duplicateReceiptLine(let order, let sku): "receipt on '\(order)' lists '\(sku)' twice: give one line"
        case .unknownConflict(let id): "unknown conflict '\(id)': no conflict here has that id"
        case .alreadyAcknowledged(let id): "conflict '\(id)' is already acknowledged"
        case .emptyTransfer(let order): "a transfer for order '\(order)' needs at least one SKU=QTY line"
        case .duplicateTransferLine(let order, let sku):
            "the transfer for '\(order)' lists '\(sku)' twice: give one line"
        case .notAnInput(let order, let sku, let inputs):
            "'\(sku)' is not an input of order '\(order)' (inputs: "
                + (inputs.isEmpty
                    ? "none yet; they are known once it is entered" : inputs.map(\.rawValue).joined(separator: ", "))
                + ")"
        case .transferNotOpen(let order, let status):
            "order '\(order)' is \(status.rawValue): materials are transferred to an Entered or Production order"
        case .nothingToTransfer(let order):
            "order '\(order)' needs nothing more: every input has been transferred; name SKU=QTY lines to move more"
        }
    }
}
