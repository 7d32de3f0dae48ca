import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// One device's push, for a group commit at the sequencer.
public struct PushBatch: Sendable {
    public var operations: [ShopOperation]
    /// Only operations authored by this replica are accepted.
    public var author: String?
    /// One refusal stores nothing of this push (the others of its group are not affected).
    public var allOrNothing: Bool

    public init(operations: [ShopOperation], author: String? = nil, allOrNothing: Bool = true) {
        self.operations = operations
        self.author = author
        self.allOrNothing = allOrNothing
    }
}

extension Replica {
    /// Several pushes stored and folded in one transaction (group commit). Each is admitted against what the pushes
    /// before it stored and is all or nothing on its own (a savepoint); the accepted operations of all of them are
    /// numbered in arrival order and folded as one batch, then committed once. Answers in the order given. At the
    /// sequencer only; elsewhere each push is integrated on its own.
    public func integrate(group: [PushBatch]) throws -> [IntegrationReport] {
        guard isSequencer else {
            return try group.map { try integrate($0.operations, author: $0.author, allOrNothing: $0.allOrNothing) }
        }
        return try state.withLock { state in
            do {
                return try database.write { db in
                    try Self.catchUp(&state, db)
                    let vectorBefore = state.vector
                    var reports: [IntegrationReport] = []
                    var accepted: [ShopOperation] = []
                    var decoded: [OperationID: Command] = [:]
                    var clocks = (
                        vector: state.vector, lamport: state.lamport, arrival: state.arrival, next: state.nextSeq
                    )
                    for batch in group {
                        var outcomes: [IntegrationOutcome] = []
                        var stored: [ShopOperation] = []
                        var running = clocks
                        try db.inSavepoint {
                            for var op in batch.operations {
                                var command: Command?
                                let outcome = try Self.admit(
                                    op, author: batch.author, vector: running.vector, db, command: &command)
                                if outcome == .accepted {
                                    running.arrival += 1
                                    op.seq = running.next
                                    running.next += 1
                                    try Self.insert(op, arrival: running.arrival, db)
                                    running.vector.record(op.id)
                                    running.lamport = max(running.lamport, op.lamport)
                                    stored.append(op)
                                    decoded[op.id] = command
                                }
                                outcomes.append(outcome)
                            }
                            let refused = outcomes.contains { if case .refused = $0 { true } else { false } }
                            return batch.allOrNothing && refused ? .rollback : .commit
                        }
                        let refused = outcomes.contains { if case .refused = $0 { true } else { false } }
                        if batch.allOrNothing && refused {
                            reports.append(IntegrationReport(outcomes: outcomes, stored: false))
                            continue
                        }
                        clocks = running
                        accepted += stored
                        reports.append(IntegrationReport(outcomes: outcomes, stored: true))
                    }
                    guard !accepted.isEmpty else { return reports }
                    try configuration.crashSite?(.integratedOperations)
                    (state.vector, state.lamport, state.arrival, state.nextSeq) = clocks
                    try Self.foldForward(accepted, decoded: decoded, &state, db)
                    try configuration.crashSite?(.integratedFold)
                    try Self.saveClocks(state, db, previous: vectorBefore)
                    state.dataVersion = try Self.dataVersion(db)
                    return reports
                }
            } catch {
                state = try database.read { try Self.loadState($0) }
                throw error
            }
        }
    }
}
