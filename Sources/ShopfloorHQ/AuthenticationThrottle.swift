import Foundation
import Synchronization

/// Back-off on bad credentials (issue 12: HQ took ~4,000 guesses a second). Failures are counted per client
/// address and per device id over a sliding minute; past the limit every request from that address, or for that
/// device, is answered `429 too_many_attempts` with `Retry-After`, before its credentials are even checked.
final class AuthenticationThrottle: Sendable {
    private let perMinute: Int
    private let window: Double
    private let failures = Mutex<[String: [Date]]>([:])
    /// Addresses and device ids tracked at most (the oldest are forgotten first), so the table stays bounded.
    static let keysMax = 10_000

    init(perMinute: Int, windowSeconds: Double = 60) {
        self.perMinute = perMinute
        self.window = windowSeconds
    }

    /// Seconds to wait when any of `keys` is over the limit, else nil.
    func retryAfter(_ keys: [String], now: Date = Date()) -> Int? {
        failures.withLock { table in
            var wait: Int?
            for key in keys {
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < window }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= perMinute, let oldest = recent.first {
                    let seconds = max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
                    wait = max(wait ?? 0, seconds)
                }
            }
            return wait
        }
    }

    func recordFailure(_ keys: [String], now: Date = Date()) {
        failures.withLock { table in
            for key in keys { table[key, default: []].append(now) }
            if table.count > Self.keysMax {
                let stale = table.sorted { ($0.value.last ?? .distantPast) < ($1.value.last ?? .distantPast) }
                for (key, _) in stale.prefix(table.count - Self.keysMax) { table[key] = nil }
            }
        }
    }
}
