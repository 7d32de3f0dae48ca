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
    /// HQ's boundary: payloads must be canonical and within bounds (see ``Replica/admit``).
    public var strict: Bool
    /// Run in the push's transaction before admission (HQ checks the device's binding there, so two pushes cannot
    /// both pass it). An error it throws refuses the whole push: it is the push's ``IntegrationReport/rejection``
    /// and nothing of it is stored.
    public var check: (@Sendable (any SQLExecutor) throws -> Void)?
    /// Run in the same transaction after admission and storing, with whether the push was stored (HQ binds the
    /// device and records the contact there). An error it throws fails the whole transaction.
    public var bookkeeping: (@Sendable (any SQLExecutor, _ stored: Bool) throws -> Void)?
    /// The stateless half of admission, per operation, when ``prepare()`` ran.
    var inspections: [Inspection]?

    public init(
        operations: [ShopOperation], author: String? = nil, allOrNothing: Bool = true, strict: Bool = false,
        check: (@Sendable (any SQLExecutor) throws -> Void)? = nil,
        bookkeeping: (@Sendable (any SQLExecutor, _ stored: Bool) throws -> Void)? = nil
    ) {
        self.operations = operations
        self.author = author
        self.allOrNothing = allOrNothing
        self.strict = strict
        self.check = check
        self.bookkeeping = bookkeeping
    }

    /// Runs the rules of admission that need no state (the date, the bounds, decoding the payload and checking its
    /// canonical form) now, so the single writer only checks the operations against the log. Call it off the
    /// writer: HQ's request handlers do, in parallel across devices.
    public mutating func prepare() {
        inspections = operations.map { Replica.inspect($0, strict: strict) }
    }
}

/// What the stateless rules of admission found: a refusal, or the decoded command.
struct Inspection: Sendable {
    var refusal: IntegrationOutcome?
    var command: Command?
}

extension Replica {
    /// Several pushes stored and folded in one transaction (group commit). Each is admitted against what the pushes
    /// before it stored and is all or nothing on its own (a savepoint); the accepted operations of all of them are
    /// numbered in arrival order and folded as one batch, then committed once. Answers in the order given. At the
    /// sequencer only (a push's `check` and `bookkeeping` run in that transaction).
    public func integrate(group: [PushBatch]) throws -> [IntegrationReport] {
        precondition(isSequencer, "group commit is the sequencer's")
        return try state.withLock { state in
            do {
                return try database.write { db in
                    try Self.catchUp(&state, db)
                    let reports = try Self.integrate(group: group, &state, crashSite: configuration.crashSite, db)
                    state.dataVersion = try Self.dataVersion(db)
                    return reports
                }
            } catch {
                state = try database.read { try Self.loadState($0) }
                throw error
            }
        }
    }

    /// The group commit's body in the caller's transaction, through either backend: `state` is the sequencer's as
    /// that transaction sees it (a PostgreSQL node reads it in the transaction, after locking the sequence), and
    /// moves with what was stored.
    static func integrate(
        group: [PushBatch], _ state: inout ReplicaState, crashSite: (@Sendable (CrashSite) throws -> Void)?,
        _ db: any SQLExecutor
    ) throws -> [IntegrationReport] {
        let vectorBefore = state.vector
        var reports: [IntegrationReport] = []
        var accepted: [ShopOperation] = []
        var decoded: [OperationID: Command] = [:]
        var clocks = (vector: state.vector, lamport: state.lamport, arrival: state.arrival, next: state.nextSeq)
        for batch in group {
            do {
                try batch.check?(db)
            } catch {
                reports.append(IntegrationReport(outcomes: [], stored: false, rejection: error))
                try batch.bookkeeping?(db, false)
                continue
            }
            var outcomes: [IntegrationOutcome] = []
            var stored: [ShopOperation] = []
            var running = clocks
            try db.savepoint {
                for (index, var op) in batch.operations.enumerated() {
                    var command: Command?
                    let outcome = try Self.admit(
                        op, author: batch.author, vector: running.vector, strict: batch.strict,
                        inspection: batch.inspections?[index], db, command: &command)
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
                return !(batch.allOrNothing && refused)
            }
            let refused = outcomes.contains { if case .refused = $0 { true } else { false } }
            if batch.allOrNothing && refused {
                reports.append(IntegrationReport(outcomes: outcomes, stored: false))
                try batch.bookkeeping?(db, false)
                continue
            }
            clocks = running
            accepted += stored
            reports.append(IntegrationReport(outcomes: outcomes, stored: true))
            try batch.bookkeeping?(db, true)
        }
        guard !accepted.isEmpty else { return reports }
        try crashSite?(.integratedOperations)
        (state.vector, state.lamport, state.arrival, state.nextSeq) = clocks
        try Self.foldForward(accepted, decoded: decoded, &state, db)
        try crashSite?(.integratedFold)
        try Self.saveClocks(state, db, previous: vectorBefore)
        return reports
    }

    /// HQ's group commit on a database several HQ nodes share (PostgreSQL): the sequencer's state is read in `db`'s
    /// transaction, which the caller opened and in which it locked the company's sequence first, so the pushes of
    /// every node are numbered and folded one after the other. No state outlives the transaction.
    public static func integrateShared(
        group: [PushBatch], crashSite: (@Sendable (CrashSite) throws -> Void)? = nil, _ db: any SQLExecutor
    ) throws -> [IntegrationReport] {
        var state = try loadState(db)
        state.sequencer = true
        return try integrate(group: group, &state, crashSite: crashSite, db)
    }
}
