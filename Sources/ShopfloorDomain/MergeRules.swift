/// The policy of the fold of merged operations (DESIGN.md §3): physical facts and other devices' work are kept, and
/// what a local device would have refused becomes a ``Conflict``. What the domain still cannot apply is refused by
/// the fold as a whole and recorded as a refused operation (``Shop/flagRefused(subject:context:explanation:)``).
struct MergeRules: ApplyPolicy {
    /// Nothing: the author's device checked the bounds of its release, and HQ checks them at admission, so an
    /// operation already in the log folds whatever the bounds are now.
    func admit(_ command: Command) throws(DomainError) {}

    func tolerate(_ refusal: @autoclosure () -> DomainError) throws(DomainError) {}

    var keepsFirstDefinition: Bool { true }

    var reportsUnseenReceipts: Bool { true }
}
