/// The lifecycle states shared by work and production orders.
public enum OrderStatus: String, Sendable, Codable, CaseIterable {
    /// Inert and editable.
    case draft = "Draft"
    /// Commits: ORDER on outputs, DEMAND on inputs.
    case entered = "Entered"
    /// Allocates the inputs; receipts arrive here.
    case production = "Production"
    /// All ordered quantity received.
    case received = "Received"
    /// Closed; short-closed if less came in.
    case completed = "Completed"
    /// Commitments reversed.
    case cancelled = "Cancelled"

    public var isClosed: Bool { self == .completed || self == .cancelled }
}

/// What happens to an order.
public enum OrderEvent: String, Sendable, Codable, CaseIterable {
    case enter
    case start
    case receive
    case voidReceipt = "void-receipt"
    case complete
    case cancel
    case edit
}

/// The transition table as a state machine: an event in, the next state out (or a typed error).
///
/// Ledger effects of each transition are produced by ``Shop``; this table is the single authority on which
/// events are allowed in which state. `receive` and `voidReceipt` land in Production or Received depending on
/// the quantities, which the caller passes as `fullyReceived`.
public struct OrderLifecycle: Sendable, Hashable {
    public private(set) var status: OrderStatus

    public init(status: OrderStatus = .draft) {
        self.status = status
    }

    /// The states `event` may leave from.
    public static func allowedFrom(_ event: OrderEvent) -> [OrderStatus] {
        switch event {
        case .enter: [.draft]
        case .start: [.entered]
        case .receive: [.production, .received]
        case .voidReceipt: [.production, .received]
        case .complete: [.entered, .production, .received]
        case .cancel: [.draft, .entered, .production]
        case .edit: [.draft, .entered, .production]
        }
    }

    /// The events allowed in `status`, in table order.
    public static func allowedEvents(in status: OrderStatus) -> [OrderEvent] {
        OrderEvent.allCases.filter { allowedFrom($0).contains(status) }
    }

    /// The state after `event`, or the error naming the order, its state and what is allowed.
    public func next(
        _ event: OrderEvent, order: OrderNumber, fullyReceived: Bool = false
    ) throws(DomainError) -> OrderStatus {
        guard Self.allowedFrom(event).contains(status) else {
            throw .forbiddenTransition(
                order: order, status: status, event: event, allowed: Self.allowedEvents(in: status))
        }
        switch event {
        case .enter: return .entered
        case .start: return .production
        case .receive, .voidReceipt: return fullyReceived ? .received : .production
        case .complete: return .completed
        case .cancel: return .cancelled
        case .edit: return status
        }
    }

    public mutating func handle(
        _ event: OrderEvent, order: OrderNumber, fullyReceived: Bool = false
    ) throws(DomainError) {
        status = try next(event, order: order, fullyReceived: fullyReceived)
    }
}
