import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorReplication

/// The answer for one operation offered to a replica.
public enum IntegrationOutcome: Sendable, Hashable, Codable {
    case accepted
    case duplicate
    case refused(code: RefusalCode, message: String)

    public var isAccepted: Bool { self == .accepted }
}

/// Machine-readable reasons an operation is refused at the boundary.
public enum RefusalCode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Its causal context or the author's previous operation is not here yet.
    case missingDependency = "missing_dependency"
    /// The kind is not one this build knows.
    case unknownKind = "unknown_kind"
    /// Its schema version is newer than this build's.
    case unsupportedSchema = "unsupported_schema"
    /// The payload does not decode for its kind.
    case malformedPayload = "malformed_payload"
    /// Pushed by a device that did not author it.
    case foreignAuthor = "foreign_author"
    /// The same id is already here with different content (a device restored from an old backup?).
    case contentMismatch = "content_mismatch"
    /// Fields out of range (counter 0, lamport not above its context, bad date).
    case invalidOperation = "invalid_operation"
}

/// What happened to a batch offered to a replica.
public struct IntegrationReport: Sendable, Hashable {
    /// One outcome per offered operation, in the order offered.
    public var outcomes: [IntegrationOutcome]
    /// False when an all-or-nothing batch had a refusal and nothing was stored.
    public var stored: Bool
    /// Why the push's own check refused it as a whole, before any operation was admitted.
    public var rejection: (any Error)?

    public init(outcomes: [IntegrationOutcome], stored: Bool, rejection: (any Error)? = nil) {
        self.outcomes = outcomes
        self.stored = stored
        self.rejection = rejection
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.outcomes == rhs.outcomes && lhs.stored == rhs.stored && (lhs.rejection == nil) == (rhs.rejection == nil)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(outcomes)
        hasher.combine(stored)
    }
}

/// One page of a pull.
public struct PullPage: Sendable {
    public var operations: [ShopOperation]
    public var sequenced: [Assignment]
    public var last: UInt64
    public var more: Bool
}

/// Thrown inside the transaction to roll back an all-or-nothing batch.
struct BatchAborted: Error {
    var outcomes: [IntegrationOutcome]
}

extension Replica {
    /// Offers operations from elsewhere. Each is answered; the accepted ones are stored and folded in one
    /// transaction. Merged operations are never refused for business reasons: a domain refusal while folding is
    /// recorded as a rejection, visible to every replica alike.
    ///
    /// - Parameters:
    ///   - author: when set, only operations authored by this replica are accepted (a device's push).
    ///   - allOrNothing: when true, one refusal stores nothing of the batch.
    public func integrate(
        _ ops: [ShopOperation], author: String? = nil, allOrNothing: Bool = false,
        assignments: [OperationID: UInt64] = [:]
    ) throws -> IntegrationReport {
        // At HQ a push is a group of one: one admission-and-store path for both (Replica+Group.swift).
        if assignments.isEmpty, isSequencer {
            return try integrate(group: [PushBatch(operations: ops, author: author, allOrNothing: allOrNothing)])[0]
        }
        return try state.withLock { state in
            do {
                return try database.write { db in
                    try Self.catchUp(&state, db)
                    let vectorBefore = state.vector
                    var outcomes: [IntegrationOutcome] = []
                    var accepted: [ShopOperation] = []
                    var decoded: [OperationID: Command] = [:]
                    var (vector, lamport, arrival, nextSeq) = (
                        state.vector, state.lamport, state.arrival, state.nextSeq
                    )
                    // A device keeps HQ's numbers only as an unbroken run after the ones it has (a pull page); a
                    // number out of that run (an operation handed over by a peer) is dropped, and HQ's pull supplies
                    // it later in order.
                    var run = UInt64(try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL") ?? 0)
                    var keep: [OperationID: UInt64] = [:]
                    if !state.sequencer {
                        let numbered =
                            ops.compactMap { op in op.seq.map { (op.id, $0) } } + assignments.map { ($0.key, $0.value) }
                        for (id, seq) in numbered.sorted(by: { $0.1 < $1.1 }) where seq == run + 1 {
                            keep[id] = seq
                            run = seq
                        }
                    }
                    var assignments = state.sequencer ? assignments : assignments.filter { keep[$0.key] == $0.value }
                    for var op in ops {
                        if !state.sequencer, let seq = op.seq, keep[op.id] != seq { op.seq = nil }
                        var command: Command?
                        let outcome = try Self.admit(op, author: author, vector: vector, db, command: &command)
                        if let command { decoded[op.id] = command }
                        if outcome == .accepted {
                            arrival += 1
                            if state.sequencer {
                                // HQ numbers operations on arrival: its arrival order is the canonical order.
                                op.seq = nextSeq
                                nextSeq += 1
                            }
                            try Self.insert(op, arrival: arrival, db)
                            vector.record(op.id)
                            lamport = max(lamport, op.lamport)
                            accepted.append(op)
                        } else if outcome == .duplicate, !state.sequencer, let seq = op.seq {
                            // An operation held here unnumbered (handed over out of HQ's order) that a page sends
                            // again in full, because the pull's vector trailed: its number counts as an assignment.
                            assignments[op.id] = seq
                        }
                        outcomes.append(outcome)
                    }
                    if allOrNothing, outcomes.contains(where: { if case .refused = $0 { true } else { false } }) {
                        throw BatchAborted(outcomes: outcomes)
                    }
                    if !accepted.isEmpty { try configuration.crashSite?(.integratedOperations) }
                    // HQ's order for operations this replica already holds.
                    if accepted.isEmpty, !state.sequencer,
                        try Self.promoteInOrder(assignments, &state, db)
                    {
                        // HQ kept the order they were folded in: only the labels changed.
                        (state.vector, state.lamport, state.arrival, state.nextSeq) = (
                            vector, lamport, arrival, nextSeq
                        )
                        try Self.saveClocks(state, db, previous: vectorBefore)
                        state.dataVersion = try Self.dataVersion(db)
                        return IntegrationReport(outcomes: outcomes, stored: true)
                    }
                    var assigned: [CanonicalKey] = []
                    for (id, seq) in assignments.sorted(by: { $0.value < $1.value }) {
                        guard
                            let row = try db.row(
                                "SELECT \(Schema.operationColumns) FROM ops WHERE replica = ? AND counter = ?",
                                id.replica, id.counter)
                        else { continue }
                        var op = try Self.decodeOperation(row)
                        guard op.seq == nil else { continue }
                        try db.execute(
                            sql: "UPDATE ops SET seq = ? WHERE replica = ? AND counter = ?",
                            arguments: [Int64(seq), id.replica, Int64(id.counter)])
                        op.seq = seq
                        assigned.append(op.key)
                    }
                    guard !accepted.isEmpty || !assigned.isEmpty else {
                        return IntegrationReport(outcomes: outcomes, stored: true)
                    }
                    // From here the state moves in place; a failure below reloads it from the rolled-back database.
                    (state.vector, state.lamport, state.arrival, state.nextSeq) = (vector, lamport, arrival, nextSeq)
                    accepted.sort { $0.key < $1.key }
                    let earliest = ([accepted.first?.key].compactMap { $0 } + assigned).min()!
                    let touchesSuffix =
                        state.boundary != nil && (!assigned.isEmpty || accepted.contains { $0.seq != nil })
                    if !touchesSuffix, state.last.map({ $0 < earliest }) ?? true {
                        try Self.foldForward(accepted, decoded: decoded, &state, db)
                    } else if let boundary = state.boundary, boundary.last.map({ $0 < earliest }) ?? true {
                        // HQ's order arrived for (or before) operations folded unsequenced: rewind the suffix only.
                        try Self.rewind(&state, db)
                        try Self.foldRemaining(&state, db, decoded: decoded)
                    } else {
                        // Something sorts before the sequenced prefix (peers merging directly): refold everything.
                        try Self.refold(&state, db)
                    }
                    try configuration.crashSite?(.integratedFold)
                    try Self.saveClocks(state, db, previous: vectorBefore)
                    state.dataVersion = try Self.dataVersion(db)
                    return IntegrationReport(outcomes: outcomes, stored: true)
                }
            } catch let aborted as BatchAborted {
                return IntegrationReport(outcomes: aborted.outcomes, stored: false)
            } catch {
                state = try database.read { try Self.loadState($0) }
                throw error
            }
        }
    }

    /// Answers one offered operation; an accepted one leaves its decoded command in `command`, for the fold.
    ///
    /// `strict` is HQ's boundary (PROTOCOL.md §5.7–5.8): the payload must be the canonical encoding of its command,
    /// within the size bounds every device keeps, and the schema at least 1. Operations already in a log (pulled
    /// from HQ, or refolded) are not held to it, so history stays foldable.
    static func admit(
        _ op: ShopOperation, author: String?, vector: VersionVector, strict: Bool = false,
        inspection: Inspection? = nil, _ db: any SQLExecutor, command: inout Command?
    ) throws -> IntegrationOutcome {
        if let author, op.id.replica != author {
            return .refused(
                code: .foreignAuthor,
                message: "operation \(op.id) was authored by '\(op.id.replica)', not by '\(author)'")
        }
        guard VersionVector.isValidReplicaID(op.id.replica), op.id.counter >= 1, op.lamport >= 1,
            op.lamport <= UInt64(Int64.max), op.id.counter <= UInt64(Int64.max)
        else {
            return .refused(
                code: .invalidOperation,
                message: "operation \(op.id): replica id must be 1–64 of [A-Za-z0-9._-]; counter and lamport ≥ 1")
        }
        if vector.contains(op.id) {
            let stored = try db.row(
                "SELECT \(Schema.operationColumns) FROM ops WHERE replica = ? AND counter = ?", op.id.replica,
                op.id.counter
            ).map(decodeOperation)
            if let stored, stored.sameContent(as: op) { return .duplicate }
            return .refused(
                code: .contentMismatch,
                message: "operation \(op.id) is already here with different content; it was not overwritten")
        }
        guard op.id.counter >= 1, op.lamport >= 1, op.lamport <= UInt64(Int64.max) else {
            return .refused(code: .invalidOperation, message: "operation \(op.id): counter and lamport must be ≥ 1")
        }
        let expected = vector[op.id.replica] + 1
        guard op.id.counter == expected else {
            return .refused(
                code: .missingDependency,
                message: "operation \(op.id): expected \(op.id.replica):\(expected) first (causal delivery)")
        }
        guard op.context[op.id.replica] == op.id.counter - 1 else {
            return .refused(
                code: .invalidOperation,
                message: "operation \(op.id): its context must include its author's previous operation")
        }
        guard op.context.isCovered(by: vector) else {
            let missing = vector.missing(from: op.context).map {
                "\($0.key):\($0.value.lowerBound)…\($0.value.upperBound)"
            }
            return .refused(
                code: .missingDependency,
                message:
                    "operation \(op.id) depends on operations not here yet: \(missing.sorted().joined(separator: ", "))"
            )
        }
        let inspection = inspection ?? Self.inspect(op, strict: strict)
        command = inspection.command
        return inspection.refusal ?? .accepted
    }

    /// The last rules of admission, which need no state: the date, HQ's bounds, the payload's decoding and (strict)
    /// its canonical form. HQ runs them in the request handler, off the single writer (``PushBatch/prepare()``).
    static func inspect(_ op: ShopOperation, strict: Bool) -> Inspection {
        do { try validateDate(op.date) } catch {
            return Inspection(
                refusal: .refused(code: .invalidOperation, message: "operation \(op.id): \(error.description)"))
        }
        if strict {
            if let refusal = Self.boundaryRefusal(op) { return Inspection(refusal: refusal) }
        }
        let command: Command
        do { command = try op.command() } catch {
            let code: RefusalCode =
                switch error {
                case .unknownKind: .unknownKind
                case .unsupportedSchema: .unsupportedSchema
                case .malformedPayload: .malformedPayload
                }
            return Inspection(refusal: .refused(code: code, message: error.description))
        }
        if strict {
            if let deviation = op.payloadDeviation(from: command) {
                return Inspection(
                    refusal: .refused(code: .malformedPayload, message: "operation \(op.id): \(deviation)"),
                    command: command)
            }
            if let violation = command.boundsViolation() {
                return Inspection(
                    refusal: .refused(code: .malformedPayload, message: "operation \(op.id): \(violation)"),
                    command: command)
            }
        }
        return Inspection(command: command)
    }

    /// The envelope bounds HQ holds a pushed operation to before reading its payload.
    static func boundaryRefusal(_ op: ShopOperation) -> IntegrationOutcome? {
        guard op.schema >= 1 else {
            return .refused(
                code: .unsupportedSchema,
                message: "operation \(op.id): schema \(op.schema); schemas start at 1 (this HQ reads up to "
                    + "\(ShopOperation.currentSchema))")
        }
        guard op.payload.utf8.count <= ShopOperation.payloadBytesMax else {
            return .refused(
                code: .malformedPayload,
                message: "operation \(op.id): payload of \(op.payload.utf8.count) bytes; at most "
                    + "\(ShopOperation.payloadBytesMax)")
        }
        guard op.kind.utf8.count <= 64, op.timestamp.utf8.count <= 64,
            op.timestamp.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
        else {
            return .refused(
                code: .invalidOperation,
                message: "operation \(op.id): kind and timestamp are at most 64 printable ASCII characters")
        }
        if let violation = op.context.boundsViolation() {
            return .refused(code: .invalidOperation, message: "operation \(op.id): context: \(violation)")
        }
        return nil
    }

    /// Operations authored by `author` with a counter above `counter`, in counter order.
    public func operations(authoredBy author: String, after counter: UInt64, limit: Int) throws -> [ShopOperation] {
        try database.read { db in
            try db.rows(
                "SELECT \(Schema.operationColumns) FROM ops WHERE replica = ? AND counter > ? ORDER BY counter LIMIT ?",
                author, counter, limit
            ).map(Self.decodeOperation)
        }
    }

    /// Operations not covered by `vector`, in canonical order (which respects causality), at most `limit`.
    public func operations(missingFrom vector: VersionVector, limit: Int) throws -> [ShopOperation] {
        let mine = versionVector
        let missing = vector.missing(from: mine)
        guard !missing.isEmpty else { return [] }
        return try database.read { db in
            let conditions = missing.keys.sorted().map { _ in "(replica = ? AND counter > ?)" }.joined(
                separator: " OR ")
            var arguments: [SQLValue] = []
            for replica in missing.keys.sorted() {
                arguments.append(.text(replica))
                arguments.append(vector[replica].sqlValue)
            }
            // Start the canonical scan at the earliest first-missing operation instead of the beginning.
            var floor = Int64.max
            for replica in missing.keys {
                let lamport = try Int64.fetchOne(
                    db, sql: "SELECT lamport FROM ops WHERE replica = ? AND counter = ?",
                    arguments: [replica, Int64(vector[replica] + 1)])
                floor = min(floor, lamport ?? 0)
            }
            arguments.append(.integer(floor))
            arguments.append(limit.sqlValue)
            return try db.rows(
                "SELECT \(Schema.operationColumns) FROM ops WHERE (\(conditions)) AND lamport >= ? ORDER BY lamport, replica, counter LIMIT ?",
                values: arguments
            ).map(Self.decodeOperation)
        }
    }

    /// One pull page from the sequencer: operations numbered after `after`, in sequence order; those the device
    /// already holds (per `vector`) come back as bare sequence assignments. A page stops at `limit` entries or
    /// once its operations reach about `bytesMax` bytes on the wire, whichever comes first; it always holds at least
    /// one entry when there is one, so a single large operation still gets through.
    public func page(after: UInt64, holding vector: VersionVector, limit: Int, bytesMax: Int = .max) throws -> PullPage
    {
        try database.read { db in try Self.page(after: after, holding: vector, limit: limit, bytesMax: bytesMax, db) }
    }

    /// A pull page read through `sql` (HQ on either backend).
    public static func page(
        after: UInt64, holding vector: VersionVector, limit: Int, bytesMax: Int, _ sql: any SQLExecutor
    ) throws -> PullPage {
        var page = PullPage(operations: [], sequenced: [], last: after, more: false)
        var bytes = 0
        try sql.prepare("SELECT \(Schema.operationColumns) FROM ops WHERE seq > ? ORDER BY seq LIMIT ?").query([
            .integer(Int64(clamping: after)), limit.sqlValue,
        ]) { row in
            let op = try Self.decodeOperation(row)
            // An estimate of the encoded size: the variable-length members plus a fixed envelope.
            let size =
                vector.contains(op.id)
                ? 64 + op.id.replica.utf8.count
                : 256 + op.payload.utf8.count + op.timestamp.utf8.count + op.kind.utf8.count
                    + op.context.counters.reduce(0) { $0 + $1.key.utf8.count + 24 }
            if bytes > 0 && bytes + size > bytesMax { return false }
            bytes += size
            if vector.contains(op.id) {
                page.sequenced.append(Assignment(id: op.id, seq: op.seq!))
            } else {
                page.operations.append(op)
            }
            page.last = op.seq!
            return true
        }
        let highest = try sql.scalar("SELECT MAX(seq) FROM ops WHERE seq IS NOT NULL")?.int64() ?? 0
        page.more = UInt64(highest) > page.last
        return page
    }

    /// Folds pulled pages in one transaction, as a sync session's `.integrate` asks (their operations, and HQ's
    /// numbers for the ones this replica holds); the answer is the session's.
    public func integrate(pages: [PullResponse]) throws -> SyncSession.Integration {
        let operations = pages.flatMap(\.operations)
        let assignments = Dictionary(
            pages.lazy.flatMap(\.sequenced).map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
        let report = try integrate(operations, assignments: assignments)
        var refusal: String?
        for (op, outcome) in zip(operations, report.outcomes) {
            if case .refused(let code, let message) = outcome {
                refusal = "\(op.id) (\(code.rawValue)): \(message)"
                break
            }
        }
        return SyncSession.Integration(
            accepted: report.outcomes.count(where: \.isAccepted), refusal: refusal, vector: versionVector,
            sequencedThrough: sequencedThrough)
    }

    /// Every operation in canonical order.
    public func allOperations() throws -> [ShopOperation] {
        try database.read { db in
            try db.rows("SELECT \(Schema.operationColumns) FROM ops ORDER BY \(Schema.canonicalOrder)")
                .map(Self.decodeOperation)
        }
    }
}
