import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor plant …`: the plant's defaults (ERPNext's Manufacturing Settings).
struct PlantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plant", abstract: "The plant's defaults, replicated like everything else.",
        subcommands: [Set.self, Show.self])

    /// `shopfloor plant set --backflush bom|transferred`
    struct Set: ReplicaCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the backflush basis new orders take unless they name one (`order create --backflush`).")

        @OptionGroup var global: GlobalOptions

        @Option(
            help: "bom (the inputs in proportion) or transferred (what was transferred for the order).",
            transform: ArgumentValue.backflush)
        var backflush: BackflushBasis

        func run(replica: Replica, output: Output) throws {
            let recorded = try replica.record(.setPlantDefault(PlantDefault(backflush: backflush)))
            try Confirmation(recorded, [("backflush", backflush.rawValue)]).print(output)
        }
    }

    /// `shopfloor plant show`
    struct Show: ReplicaCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the plant's defaults as this replica knows them.")

        @OptionGroup var global: GlobalOptions

        struct Defaults: Encodable {
            var backflush: String
        }

        func run(replica: Replica, output: Output) throws {
            let defaults = Defaults(backflush: (try replica.plantBackflush() ?? .bom).rawValue)
            try output.show(defaults) { "backflush  \(defaults.backflush)" }
        }
    }
}
