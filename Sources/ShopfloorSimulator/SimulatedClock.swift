import Foundation
import Synchronization

/// A device's wall clock: skewed from true time by an offset and moved only by the simulation.
final class SimulatedClock: Sendable {
    private let instant: Mutex<Date>

    init(start: Date) {
        instant = Mutex(start)
    }

    var now: Date { instant.withLock { $0 } }

    /// Moves the clock; a negative amount models a correction backwards (NTP, a user fixing the date).
    func advance(seconds: Int) {
        instant.withLock { $0 = $0.addingTimeInterval(TimeInterval(seconds)) }
    }
}
