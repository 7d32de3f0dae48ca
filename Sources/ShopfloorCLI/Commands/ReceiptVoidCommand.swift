import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor receipt void RECEIPT-ID`
struct ReceiptVoidCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "void", abstract: "Void a receipt: REVERSE_CONSUME and REVERSE_PRODUCE what it wrote.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The receipt id.")
    var receipt: String

    func run(replica: Replica, output: Output) throws {
        let recorded = try replica.record(.voidReceipt(VoidReceipt(receipt: receipt)))
        let number = try replica.orderNumber(ofReceipt: receipt)?.rawValue ?? ""
        try Confirmation(recorded, [("receipt", receipt), ("number", number)]).print(output)
    }
}
