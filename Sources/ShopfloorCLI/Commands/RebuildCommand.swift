import ArgumentParser
import ShopfloorStore

/// `shopfloor rebuild`: re-derives every projection from the operation log.
struct RebuildCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild", abstract: "Rebuild the projections from the log; print the digest before and after.")

    @OptionGroup var global: GlobalOptions

    struct Rebuilt: Encodable {
        var before: String
        var after: String
        var equal: Bool
        var operations: Int
    }

    func run(replica: Replica, output: Output) throws {
        let before = try replica.digest()
        try replica.rebuild()
        let after = try replica.digest()
        let rebuilt = Rebuilt(before: before, after: after, equal: before == after, operations: replica.operationCount)
        try output.show(rebuilt) {
            var table = Table([.left(""), .left("")])
            table.append(["before", before])
            table.append(["after", after])
            table.append([
                "equal", rebuilt.equal ? "yes" : "no (the projections had drifted; now rebuilt from the log)",
            ])
            return table.render(header: false)
        }
    }
}
