import Foundation
import GRDB
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync
import Synchronization

/// A crash inside a write transaction, thrown at a ``CrashSite`` by an armed ``Tripwire``.
struct SimulatedCrash: Error, CustomStringConvertible {
    var site: CrashSite
    var description: String { "simulated crash at \(site.rawValue)" }
}

/// Arms a crash inside the next write transactions of one replica: after `passes` more crash sites, the next one
/// throws ``SimulatedCrash`` and the transaction is abandoned half-written.
final class Tripwire: Sendable {
    /// Crash sites still to pass before firing (nil: disarmed), and where it fired.
    private let state = Mutex<(remaining: Int?, fired: CrashSite?)>((nil, nil))

    func arm(passes: Int) {
        state.withLock { $0 = (passes, nil) }
    }

    /// Disarms and tells where it fired, if it did.
    func disarm() -> CrashSite? {
        state.withLock { state in
            defer { state = (nil, nil) }
            return state.fired
        }
    }

    func pass(_ site: CrashSite) throws {
        try state.withLock { state in
            guard let left = state.remaining else { return }
            guard left == 0 else {
                state.remaining = left - 1
                return
            }
            state = (nil, site)
            throw SimulatedCrash(site: site)
        }
    }
}

/// One device (or HQ): its replica file, its clock and what its sync client remembers.
final class SimulatedNode {
    let id: String
    let path: String
    let clock: SimulatedClock
    let configuration: ReplicaConfiguration
    let tripwire: Tripwire
    private var handle: Replica?
    /// The session's saved progress (``SyncSettings/pushed``): the highest own counter HQ confirmed, as of the last
    /// save; read back after a crash.
    var sent: UInt64 = 0
    /// Sync attempts fail until this step (a partition).
    var partitionedUntil = -1
    /// The last push batch HQ stored: a stale copy may arrive late.
    var lastBatch: [ShopOperation] = []
    /// The device's enrolment at HQ (floor devices only).
    var credentials: DeviceCredentials?

    var replica: Replica {
        guard let handle else { preconditionFailure("replica \(id) used while closed") }
        return handle
    }

    init(
        id: String, path: String, clock: SimulatedClock, configuration: ReplicaConfiguration, tripwire: Tripwire
    ) throws {
        self.id = id
        self.path = path
        self.clock = clock
        self.configuration = configuration
        self.tripwire = tripwire
        handle = try Replica.create(at: path, name: id, id: id, configuration: configuration)
        sent = try SyncSettings.load(from: handle!).pushed
    }

    /// A crash between operations: the process forgets everything but the file.
    func crashAndReopen() throws {
        handle = nil
        handle = try Replica.open(at: path, configuration: configuration)
        sent = try SyncSettings.load(from: replica).pushed
    }

    func close() {
        handle = nil
    }
}
