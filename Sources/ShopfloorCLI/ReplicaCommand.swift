import ArgumentParser
import Logging
import ShopfloorStore

/// A command that works on an existing replica: it opens the one `--db` names, then does its work.
protocol ReplicaCommand: ParsableCommand {
    var global: GlobalOptions { get }
    func run(replica: Replica, output: Output) throws
}

extension ReplicaCommand {
    func run() throws {
        let logger = Logger(label: "shopfloor")
        let replica = try Replica.open(at: global.path, configuration: ReplicaConfiguration(logger: logger))
        try run(replica: replica, output: Output(json: global.json))
    }
}
