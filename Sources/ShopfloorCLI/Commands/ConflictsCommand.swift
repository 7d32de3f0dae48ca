import ArgumentParser
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor conflicts`: every conflict the fold recorded, and acknowledging them.
struct ConflictsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "List conflicts (open ones unless --all); acknowledge one with `conflicts ack ID`.",
        subcommands: [ConflictsListCommand.self, ConflictsAckCommand.self],
        defaultSubcommand: ConflictsListCommand.self)
}

struct ConflictsListCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List conflicts (the default).")

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Include acknowledged conflicts.") var all = false
    @Option(help: "Only conflicts about this order number, receipt id or SKU@LOCATION.") var subject: String?

    func run(replica: Replica, output: Output) throws {
        let rows = try replica.conflictRows(all: all, subject: subject)
        try output.show(rows) {
            guard !rows.isEmpty else { return all ? "no conflicts" : "no open conflicts" }
            return rows.map { row in
                var text = "\(row.id)\n  \(row.kind) on \(row.subject): \(row.outcome)\n  \(row.explanation)"
                text +=
                    "\n  operations: " + row.operations.map { "\($0.operation) (\($0.author))" }.joined(separator: ", ")
                if let ack = row.acknowledged {
                    text +=
                        "\n  acknowledged by \(ack.operation) on \(ack.date)"
                        + (ack.note.isEmpty ? "" : ": \(ack.note)")
                }
                return text
            }.joined(separator: "\n\n")
        }
    }
}

struct ConflictsAckCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack", abstract: "Acknowledge a conflict (an operation that syncs like any other).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The conflict id (from `conflicts`).") var id: String
    @Option(help: "What was done about it.") var note = ""

    struct Acknowledged: Encodable {
        var operation: String
        var kind: String
        var conflict: String
    }

    func run(replica: Replica, output: Output) throws {
        let recorded = try replica.record(.acknowledgeConflict(AcknowledgeConflict(conflict: id, note: note)))
        let result = Acknowledged(
            operation: recorded.operation.id.description, kind: recorded.operation.kind, conflict: id)
        try output.show(result) { "recorded \(result.operation) \(result.kind) \(id)" }
    }
}
