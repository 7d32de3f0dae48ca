/// The conflicts the fold has raised and their acknowledgements, with the field writes rule 5 compares.
///
/// A command's conflicts are staged in ``pending`` and committed only when the command succeeds, so a refused
/// command leaves no conflict behind.
struct ConflictLog: Sendable {
    /// Every conflict, in fold order.
    var conflicts: [Conflict] = []
    /// The conflicts raised by the last successful command.
    var lastConflicts: [Conflict] = []
    /// Conflict id → acknowledgement.
    var acknowledgements: [String: Acknowledgement] = [:]
    /// Field → last writer (rule 5).
    var fieldWrites: [FieldKey: FieldWrite] = [:]
    /// Conflicts raised by the command being applied.
    var pending: [Conflict] = []

    /// Starts a command: nothing staged.
    mutating func begin() {
        pending = []
    }

    /// Ends a successful command: what it staged becomes part of the log.
    mutating func commit() {
        conflicts += pending
        lastConflicts = pending
        pending = []
    }

    /// Records a conflict raised by the command being applied.
    ///
    /// `operations` is stored and digested as given: where a caller has no operation id (nil), it passes "", as
    /// this log has always stored (``ApplyContext/operationText``).
    mutating func flag(
        _ kind: Conflict.Kind, subject: String, context: ApplyContext, operations: [String], outcome: String,
        explanation: String
    ) {
        let conflict = Conflict(
            kind: kind, subject: subject, trigger: context.operationText, operations: operations, outcome: outcome,
            explanation: explanation)
        if let index = pending.firstIndex(where: { $0.id == conflict.id }) {
            // One operation editing several fields against concurrent writes: one conflict names them all.
            guard kind == .concurrentEdit else { return }
            var merged = pending[index]
            // The triggering operation stays last; the new field's other writes go before it.
            let trigger = merged.operations.removeLast()
            merged.operations += operations.filter { $0 != trigger && !merged.operations.contains($0) } + [trigger]
            merged.outcome += "; " + outcome
            merged.explanation += "; " + explanation
            pending[index] = merged
            return
        }
        pending.append(conflict)
    }

    /// Records an operation that could not be applied in merge mode, as the whole of a command (it changes nothing
    /// else).
    mutating func flagRefused(subject: String, context: ApplyContext, explanation: String) {
        begin()
        flag(
            .refusedOperation, subject: subject, context: context, operations: [context.operationText],
            outcome: "not applied", explanation: explanation)
        commit()
    }

    /// Rule 5: records a field write. The writes this one did not see stay standing beside it as rivals; when any
    /// of them holds another value, one conflict lists every standing value (with three concurrent writers the
    /// conflict of the third lists all three).
    mutating func write(field key: FieldKey, value: String, subject: String, context: ApplyContext) {
        var standing: [FieldWrite] = []
        if let previous = fieldWrites[key] {
            standing = (previous.rivals + [FieldWrite(operation: previous.operation, value: previous.value)])
                .filter { !context.saw($0.operation) }
        }
        if standing.contains(where: { $0.value != value }) {
            let values = (standing + [FieldWrite(operation: context.operationText, value: value)])
                .map { "\($0.value) by \($0.operation)" }
            flag(
                .concurrentEdit, subject: subject, context: context,
                operations: standing.map(\.operation) + [context.operationText],
                outcome: "\(key) = \(value) (the later in canonical order wins)",
                explanation: "concurrent edits of \(key): " + values.joined(separator: ", "))
        }
        fieldWrites[key] = FieldWrite(operation: context.operationText, value: value, rivals: standing)
    }

    mutating func acknowledge(
        _ ack: AcknowledgeConflict, context: ApplyContext, policy: some ApplyPolicy
    ) throws(DomainError) {
        // Merged too: an acknowledgement of a conflict this fold never raised (its author saw the conflict in an
        // order that HQ's sequence changed) is refused, so it shows as a refused-operation conflict instead of
        // leaving an acknowledgement of nothing (PROTOCOL.md §4.8).
        guard conflicts.contains(where: { $0.id == ack.conflict }) else { throw .unknownConflict(ack.conflict) }
        // Concurrent acknowledgements: the first in canonical order stays.
        guard acknowledgements[ack.conflict] == nil else {
            try policy.tolerate(.alreadyAcknowledged(ack.conflict))
            return
        }
        acknowledgements[ack.conflict] = Acknowledgement(
            conflict: ack.conflict, operation: context.operationText, note: ack.note, date: context.date)
    }
}
