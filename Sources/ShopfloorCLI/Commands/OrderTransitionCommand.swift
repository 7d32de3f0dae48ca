import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor order enter|start|complete|cancel NUMBER`: one lifecycle step.
protocol OrderTransitionCommand: ReplicaCommand {
    static var action: OrderTransition.Action { get }
    var number: OrderNumber { get }
}

extension OrderTransitionCommand {
    func run(replica: Replica, output: Output) throws {
        let recorded = try replica.record(.transition(OrderTransition(order: number, action: Self.action)))
        let status = try replica.orderStatus(number)?.rawValue ?? ""
        try Confirmation(recorded, [("number", number.rawValue), ("action", Self.action.rawValue), ("status", status)])
            .print(output)
    }
}

struct OrderEnterCommand: OrderTransitionCommand {
    static let configuration = CommandConfiguration(
        commandName: "enter", abstract: "Draft → Entered: ORDER the outputs, DEMAND the input snapshot.")
    static let action = OrderTransition.Action.enter

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The order number.") var number: OrderNumber
}

struct OrderStartCommand: OrderTransitionCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Entered → Production: ALLOCATE the inputs.")
    static let action = OrderTransition.Action.start

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The order number.") var number: OrderNumber
}

struct OrderCompleteCommand: OrderTransitionCommand {
    static let configuration = CommandConfiguration(
        commandName: "complete", abstract: "Close the order (short if less came in); reverses what is outstanding.")
    static let action = OrderTransition.Action.complete

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The order number.") var number: OrderNumber
}

struct OrderCancelCommand: OrderTransitionCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel an order with no visible receipts; reverses its commitments.")
    static let action = OrderTransition.Action.cancel

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The order number.") var number: OrderNumber
}
