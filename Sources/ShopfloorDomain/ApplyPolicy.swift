/// The questions on which a command recorded here and an operation merged from elsewhere are treated differently.
///
/// Two policies answer them: ``LocalValidation`` for the device recording a command, which refuses whatever it
/// can see is wrong, and ``MergeRules`` for the fold of merged operations, which never refuses a physical fact or
/// another device's work for a business reason and records a ``Conflict`` instead (DESIGN.md §3).
/// ``Shop/apply(_:context:)`` picks one from ``ApplyContext/mode`` once; the reducers ask it and never read the
/// mode themselves.
///
/// Most questions share one shape, ``tolerate(_:)``: "this command breaks a rule; refuse, or keep it?" The reducer
/// names the refusal local validation throws and, on the line after, does what the merge rule keeps (renames a
/// duplicate number and flags it, keeps an over-receipt and flags it, …). The refusal is an autoclosure, so the
/// merge rules never build an error message they would not use. The two properties answer the questions where the
/// local path is not a refusal at the same place.
protocol ApplyPolicy: Sendable {
    /// Checks a command's sizes against ``Bounds`` before it is applied.
    func admit(_ command: Command) throws(DomainError)

    /// Answers a rule `refusal` names, which the command breaks: local validation throws it; the merge rules
    /// return, and the caller keeps what the operation did and records a conflict.
    func tolerate(_ refusal: @autoclosure () -> DomainError) throws(DomainError)

    /// Whether a second definition of an item or location leaves the first standing, with no refusal (rule 5 for
    /// adds: the first in canonical order stays). Otherwise the catalog refuses it after checking it.
    var keepsFirstDefinition: Bool { get }

    /// Whether a close reports the receipts and voids it had not seen (rule 4 the other way round). A command
    /// recorded here has seen everything folded so far, so only a merged one can miss any.
    var reportsUnseenReceipts: Bool { get }
}
