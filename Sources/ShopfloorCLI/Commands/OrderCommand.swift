import ArgumentParser

/// `shopfloor order …`
struct OrderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order", abstract: "Work and production orders.",
        discussion: """
            Lifecycle: Draft → enter → Entered → start → Production → (receipts) → Received;
            complete closes short from Entered, Production or Received; cancel from Draft, Entered or
            Production when no receipt is visible. Edits and set-cost are allowed until the order closes.
            `transfer` (Make Transfer) moves inputs into the order's WIP warehouse once it is Entered.
            """,
        subcommands: [
            OrderCreateCommand.self, OrderSetCostCommand.self, OrderEditCommand.self, OrderEnterCommand.self,
            OrderStartCommand.self, OrderCompleteCommand.self, OrderCancelCommand.self, OrderShowCommand.self,
            OrderListCommand.self, OrderTransferCommand.self,
        ])
}
