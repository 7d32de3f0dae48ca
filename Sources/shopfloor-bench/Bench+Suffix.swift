import Foundation
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync

extension Bench {
    /// A device that recorded operations offline syncs while others' operations reached HQ first: its own ops come
    /// back with HQ's sequence numbers, so it folds the suffix again. Compared with a device that has nothing of
    /// its own and only pulls the same operations.
    func suffix() async throws {
        let (own, others) = plan.suffix
        Progress.say(
            "suffix: a device with \(own.formatted3) unsynced ops syncs after \(others.formatted3) from others")
        let hq = try Replica.create(
            at: try path("suffix/hq.sqlite"), name: "hq", id: "hq", configuration: Self.quiet(durable: false, hq: true))
        for start in stride(from: 0, to: base.operations.count, by: 1000) {
            _ = try hq.integrate(Array(base.operations[start..<min(start + 1000, base.operations.count)]))
        }
        let (offline, online) = try await InProcessHQ.with(replica: hq) { server, url in
            func device(_ name: String) async throws -> SyncClient {
                let replica = try Replica.create(
                    at: try path("suffix/\(name).sqlite"), name: name, configuration: Self.quiet(durable: true))
                let credentials = try server.registry.add(name: name, hq: url)
                try SyncSettings(hq: url, deviceID: credentials.deviceID, secret: credentials.secret).save(to: replica)
                let client = try SyncClient(
                    replica: replica, hq: url, deviceID: credentials.deviceID, secret: credentials.secret,
                    logger: Self.logger("bench.sync"))
                _ = try await client.sync()
                return client
            }
            let offline = try await device("offline")
            let online = try await device("online")
            var activity = FloorActivity(author: offline.replica.id, workload: workload, seed: 4242)
            for _ in 0..<own { try offline.replica.record(activity.next()) }
            var history = SharedHistory(base: base)
            var sent = 0
            while sent < others {
                let batch = history.next(min(1000, others - sent))
                _ = try hq.integrate(batch)
                sent += batch.count
            }
            var clock = Stopwatch()
            let pulled = try await online.sync()
            let onlineSeconds = clock.seconds
            clock = Stopwatch()
            let synced = try await offline.sync()
            let offlineSeconds = clock.seconds
            guard pulled.pulled == others, synced.pushed == own, synced.pulled == others else {
                throw Spawn.Failure(description: "suffix sync moved the wrong operations: \(synced), \(pulled)")
            }
            return (offlineSeconds, onlineSeconds)
        }
        report.add(
            id: "suffix.sync", "suffix",
            "sync of a device with \(own.formatted3) own unsynced ops (push + pull \(others.formatted3))",
            offline * 1000, "ms", baseline: ("pull of the same \(others.formatted3) only", online * 1000),
            note: "SyncClient.sync, in-process HQ")
        let rate = Double(own + others) / offline
        report.add(
            id: "suffix.rate", "suffix", "that sync's rate (own + pulled operations per second)", rate, "ops/s",
            baseline: rebuildRate.map { ("rebuild", $0) }, target: rebuildRate.map { _ in "≥ 0.5 × rebuild" },
            met: rebuildRate.map { rate >= 0.5 * $0 })
    }
}
