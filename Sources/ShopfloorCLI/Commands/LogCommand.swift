import ArgumentParser
import ShopfloorStore

/// `shopfloor log [--limit N]`: the operation log, newest first.
struct LogCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "List operations, newest (last in canonical order) first.")
    static let limitMax = 100_000

    @OptionGroup var global: GlobalOptions

    @Option(help: "At most this many operations (1–\(LogCommand.limitMax)).")
    var limit = 20

    func validate() throws {
        guard (1...Self.limitMax).contains(limit) else {
            throw ValidationError("--limit must be between 1 and \(Self.limitMax), got \(limit)")
        }
    }

    func run(replica: Replica, output: Output) throws {
        let rows = try replica.recentOperations(limit: limit)
        try output.show(rows) {
            guard !rows.isEmpty else { return "no operations" }
            var table = Table([
                .left("ID"), .right("LAMPORT"), .left("KIND"), .left("DATE"), .left("TIMESTAMP"), .left("PAYLOAD"),
            ])
            for row in rows {
                table.append([row.id, "\(row.lamport)", row.kind, row.date, row.timestamp, row.payload])
            }
            return table.render()
        }
    }
}
