import Dispatch
import ShopfloorStore
import Synchronization

/// HQ's one writer: pushes are stored on a dedicated thread, never on Swift's cooperative pool, and the pushes that
/// arrive while a transaction runs are stored together in the next one (group commit: one fold, one commit).
final class GroupCommitter: Sendable {
    /// Pushes stored in one transaction at most (each is at most `Wire.pushOperationsMax` operations).
    static let groupPushesMax = 32

    private typealias Waiting = (batch: PushBatch, continuation: CheckedContinuation<IntegrationReport, any Error>)
    private let replica: Replica
    private let queue = DispatchQueue(label: "shopfloor.hq.writer")
    private let waiting = Mutex<[Waiting]>([])

    init(replica: Replica) {
        self.replica = replica
    }

    /// Stores one push (with whichever others are waiting) and returns its report.
    func integrate(_ batch: PushBatch) async throws -> IntegrationReport {
        try await withCheckedThrowingContinuation { continuation in
            let first = waiting.withLock { waiting in
                waiting.append((batch, continuation))
                return waiting.count == 1
            }
            if first { queue.async { self.drain() } }
        }
    }

    /// Runs `body` on the writer's thread, between groups of pushes: HQ's own writes (the API's) are serialized
    /// with the pushes and, like them, never block the cooperative pool.
    func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func drain() {
        while true {
            let group = waiting.withLock { waiting -> [Waiting] in
                let group = Array(waiting.prefix(Self.groupPushesMax))
                waiting.removeFirst(group.count)
                return group
            }
            guard !group.isEmpty else { return }
            do {
                let reports = try replica.integrate(group: group.map(\.batch))
                for (waiter, report) in zip(group, reports) { waiter.continuation.resume(returning: report) }
            } catch {
                for waiter in group { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
