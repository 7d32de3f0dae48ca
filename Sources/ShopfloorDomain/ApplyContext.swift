/// Who and when, for the entries a command writes, and how refusals are handled.
public struct ApplyContext: Sendable {
    /// How a command that breaks a rule is treated: ``Shop/apply(_:context:)`` applies local validation or the merge
    /// rules by it.
    public enum Mode: Sendable {
        /// The recording device: refuse what it can see is wrong.
        case local
        /// An operation merged from elsewhere: never refused for business reasons; physical facts are kept and
        /// the problem is recorded as a ``Conflict``.
        case merge
    }

    /// The operation id stamped on everything the command writes; nil in pure domain use (a test, a scratch check
    /// of a command before it is recorded).
    public var operation: String?
    /// The business date (YYYY-MM-DD).
    public var date: String
    public var mode: Mode
    /// The operation's author (replica id), used to disambiguate duplicate numbers.
    public var author: String
    /// Whether an operation (by id) is in this operation's causal past. Locally everything folded so far is.
    public var saw: @Sendable (String) -> Bool

    public init(
        operation: String? = nil, date: String, mode: Mode = .local, author: String = "",
        saw: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.operation = operation
        self.date = date
        self.mode = mode
        self.author = author
        self.saw = saw
    }

    /// The operation as the stored forms write it: "" when there is none.
    ///
    /// Ledger entries, field writes, acknowledgements and conflicts keep a `String`, and wrote "" for "no
    /// operation" when this context's operation was a `String` itself. A conflict's id hashes
    /// `kind|trigger|subject` and its operation list is stored and digested, so nil must become exactly "" there,
    /// or stored conflicts and the replica digest would change.
    var operationText: String { operation ?? "" }
}
