import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor location …`
struct LocationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "location", abstract: "Warehouses and production sites.", subcommands: [Add.self])

    /// `shopfloor location add CODE [--name TEXT]`
    struct Add: ReplicaCommand {
        static let configuration = CommandConfiguration(abstract: "Add a location.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The location code (letters, digits, '-', '_', '.', '/').")
        var code: String

        @Option(help: "A descriptive name.")
        var name: String = ""

        func run(replica: Replica, output: Output) throws {
            let recorded = try replica.record(.addLocation(Location(code: code, name: name)))
            try Confirmation(recorded, [("code", code)]).print(output)
        }
    }
}
