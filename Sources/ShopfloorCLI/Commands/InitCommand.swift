import ArgumentParser
import Logging
import ShopfloorStore

/// `shopfloor init --name NAME`: creates the replica file with a fresh replica id.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a new replica at the --db path.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "A human name for this device (1–64 characters).")
    var name: String

    struct Created: Encodable {
        var replica: String
        var name: String
        var path: String
    }

    func run() throws {
        let configuration = ReplicaConfiguration(logger: Logger(label: "shopfloor"))
        let replica = try Replica.create(at: global.path, name: name, configuration: configuration)
        let created = Created(replica: replica.id, name: replica.name, path: replica.path)
        try Output(json: global.json).show(created) {
            "initialized replica \(created.replica) '\(created.name)' at \(created.path)"
        }
    }
}
