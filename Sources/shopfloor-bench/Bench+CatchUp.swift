import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore

extension Bench {
    struct SyncSummary: Decodable {
        var pulled: Int
        var digest: String?
        var operations: UInt64
    }

    /// A fresh `shopfloor` device pulling and folding HQ's history of N operations from `shopfloor-hq serve`;
    /// then the projections rebuilt from its log, and one late-arriving operation.
    func catchUp() async throws {
        let database = try path("catchup/hq.sqlite")
        let hq = try Replica.create(
            at: database, name: "hq", id: "hq", configuration: Self.quiet(durable: false, hq: true))
        var history = SharedHistory(base: base)
        var held = 0
        var buildSeconds = 0.0
        func integrate(_ ops: [ShopOperation]) throws {
            let clock = Stopwatch()
            let report = try hq.integrate(ops)
            buildSeconds += clock.seconds
            guard report.outcomes.allSatisfy(\.isAccepted) else {
                throw Spawn.Failure(
                    description:
                        "HQ refused part of the generated history: \(report.outcomes.first { !$0.isAccepted }!)")
            }
            held += ops.count
        }
        for start in stride(from: 0, to: base.operations.count, by: 1000) {
            try integrate(Array(base.operations[start..<min(start + 1000, base.operations.count)]))
        }
        // Rates at the previous size, to project the next one against the run's budget.
        var rates: (build: Double, sync: Double, rebuild: Double)?
        for size in plan.catchUpSizes {
            if let rates {
                let projected =
                    Double(size - held) / rates.build + Double(size) / rates.sync
                    + (plan.rebuildSizes.contains(size) ? Double(size) / rates.rebuild : 0)
                if clock.seconds + projected + reservedAfterCatchUp > plan.budgetSeconds {
                    report.notes.append(
                        "catch-up and rebuild of \(size.formatted3) ops skipped: at the rates measured at the previous size "
                            + "(build \(rates.build.formatted3), sync \(rates.sync.formatted3), rebuild \(rates.rebuild.formatted3) ops/s) "
                            + "they would take about \(Int(projected)) s, "
                            + "past the run's \(Int(plan.budgetSeconds)) s budget; "
                            + "measure it alone with `tools/bench --only catchup --catch-up-sizes \(size)`")
                    Progress.say("catch-up: \(size.formatted3) skipped (projected \(Int(projected)) s)")
                    continue
                }
            }
            Progress.say(
                "catch-up: building HQ's history to \(size.formatted3) ops (in-process integrate, canonical order)")
            let (heldBefore, secondsBefore) = (held, buildSeconds)
            while held < size { try integrate(history.next(min(2000, size - held))) }
            let buildRate = Double(held - heldBefore) / (buildSeconds - secondsBefore)
            report.add(
                id: "hq.build.\(size)", "HQ build",
                "integrate in canonical order, in-process, ops \(heldBefore.formatted3)…\(size.formatted3)",
                buildRate, "ops/s", baseline: ("raw burst", limitOpsPerSecond),
                note: "setup for catch-up; batches of 2,000, durable: false")
            let credentials = try DeviceRegistry(replica: hq).add(name: "catchup-\(size)")
            let device = try path("catchup/device-\(size).sqlite")
            let server = try await HQProcess.start(
                binary: shopfloorHQ, database: database, logDirectory: try directory("logs"))
            let sync: Spawn.Finished
            let summary: SyncSummary
            do {
                let logs = try directory("logs")
                _ = try await Spawn.runChecked(
                    shopfloor, ["init", "--name", "catchup", "--db", device], stderr: logs + "/init.err",
                    timeoutSeconds: 60)
                _ = try await Spawn.runChecked(
                    shopfloor,
                    [
                        "enroll", "--hq", server.url, "--device-id", credentials.deviceID, "--secret",
                        credentials.secret, "--db", device,
                    ],
                    stderr: logs + "/enroll.err", timeoutSeconds: 60)
                // HQ starts making a snapshot in the background when it starts (PROTOCOL.md §20): wait until it is
                // ready, as a device that comes later than that would find it, and report how long it took.
                Progress.say("catch-up: waiting for HQ's snapshot of \(size.formatted3) ops")
                let snapshotClock = Stopwatch()
                let ask = try JSONEncoder().encode(
                    SnapshotRequest(vector: VersionVector(), format: Replica.snapshotFormat))
                let credentialsHeader = Data("\(credentials.deviceID):\(credentials.secret)".utf8).base64EncodedString()
                var request = HTTPClientRequest(url: server.url + "/v1/snapshot")
                request.method = .POST
                request.headers.add(name: Wire.versionHeader, value: "\(Wire.protocolVersion)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Authorization", value: "Basic \(credentialsHeader)")
                request.body = .bytes(ByteBuffer(bytes: ask))
                let offered = try await HTTPClient.shared.execute(request, timeout: .seconds(900))
                let body = try await offered.body.collect(upTo: 1 << 20)
                let manifest = try? JSONDecoder().decode(SnapshotOffer.self, from: Data(buffer: body)).snapshot
                report.add(
                    id: "hq.snapshot.\(size)", "catch-up",
                    "HQ makes a snapshot of \(size.formatted3) ops (in the background)",
                    snapshotClock.seconds, "s", baseline: nil,
                    note: manifest.map { "\($0.bytes / 1_048_576) MiB" }
                        ?? "no snapshot offered (status \(offered.status.code))")
                // The setup's gigabytes (HQ's history, written unsynced above) reach the disk first: what is timed
                // is the device's catch-up, not the kernel writing back the bench's own files meanwhile.
                Foundation.sync()
                Progress.say("catch-up: `shopfloor sync` of \(size.formatted3) ops from `shopfloor-hq serve`")
                let output = logs + "/sync-\(size).json"
                sync = try await Spawn.runChecked(
                    shopfloor, ["sync", "--db", device, "--json"], stdout: output, stderr: logs + "/sync.err",
                    timeoutSeconds: 900)
                summary = try JSONDecoder().decode(
                    SyncSummary.self, from: Data(contentsOf: URL(fileURLWithPath: output)))
            } catch {
                _ = await server.stop()
                throw error
            }
            let hqPeak = server.peakKiB
            _ = await server.stop()
            guard summary.pulled == size, Int(summary.operations) == size else {
                throw Spawn.Failure(description: "the device pulled \(summary.pulled) of \(size) operations")
            }
            var note = "whole `shopfloor sync` process, pages of 2,000; its CPU \(sync.cpuSeconds.formatted3) s"
            if size <= plan.digestCheckMax {
                // Outside the timed sync: a digest reads every row.
                let deviceDigest = try Replica.open(at: device, configuration: Self.quiet(durable: false)).digest()
                note += try hq.digest() == deviceDigest ? "; digest equals HQ's" : "; DIGEST DIFFERS FROM HQ's"
            }
            let rate = Double(size) / sync.seconds
            let million = size >= 1_000_000
            report.add(
                id: "catchup.\(size).seconds", "catch-up", "\(size.formatted3) ops, seconds", sync.seconds, "s",
                baseline: ("raw insert of as many rows", Double(size) / limitOpsPerSecond),
                target: million ? "≤ 15 s" : nil, met: million ? sync.seconds <= 15 : nil, note: note)
            report.add(
                id: "catchup.\(size)", "catch-up", "\(size.formatted3) ops, rate", rate, "ops/s",
                baseline: ("raw burst", limitOpsPerSecond))
            report.add(
                id: "memory.device.catchup.\(size)", "memory",
                "device peak RSS during catch-up of \(size.formatted3) ops", Double(sync.peakKiB) / 1024,
                "MiB")
            if let hqPeak {
                let mib = Double(hqPeak) / 1024
                report.add(
                    id: "memory.hq.catchup.\(size)", "memory", "HQ peak RSS (VmHWM) serving that catch-up", mib, "MiB",
                    target: "≤ 256 MiB",
                    met: mib <= 256)
            }
            try await historySweep(device: device, size: size)
            let rebuildRate = try rebuild(device: device, size: size)
            if let rebuildRate { self.rebuildRate = rebuildRate }
            rates = (buildRate, rate, rebuildRate ?? rates?.rebuild ?? rate)
            held += try lateArrival(hq: hq, size: size)
        }
    }

    /// The device's projections rebuilt from its log alone.
    /// Returns the rate, when it ran.
    func rebuild(device: String, size: Int) throws -> Double? {
        guard plan.rebuildSizes.contains(size) else { return nil }
        let replica = try Replica.open(at: device, configuration: Self.quiet(durable: false))
        Progress.say("rebuild: projections from the log alone, \(size.formatted3) ops")
        let clock = Stopwatch()
        let cpu = CPUTime.now()
        try replica.rebuild()
        let seconds = clock.seconds
        let cpuSeconds = CPUTime.now() - cpu
        report.add(
            id: "rebuild.\(size)", "rebuild", "projections from the log, \(size.formatted3) ops",
            Double(size) / seconds, "ops/s",
            baseline: ("raw burst", limitOpsPerSecond), note: "\(seconds.formatted3) s, CPU \(cpuSeconds.formatted3) s")
        return Double(size) / seconds
    }

    /// What HQ pays for one operation from a device that was offline since the start (its lamport sorts before
    /// everything HQ holds), compared with one whose lamport sorts last.
    /// Returns how many operations it added to HQ.
    func lateArrival(hq: Replica, size: Int) throws -> Int {
        guard size <= plan.digestCheckMax else { return 0 }
        Progress.say(
            "late arrival at HQ: one operation with lamport 1 vs one with the highest, on \(size.formatted3) ops")
        func operation(_ author: String, lamport: UInt64) -> ShopOperation {
            ShopOperation(
                id: OperationID(replica: author, counter: 1), lamport: lamport, context: VersionVector(),
                timestamp: Author.timestamp(1), date: Author.date,
                command: .addLocation(Location(code: "LATE-\(author)", name: "late")))
        }
        // The first write after another process wrote the file reloads the replica's state: keep that out.
        let warm = try hq.integrate([operation("late-\(size)-c", lamport: 10_000_000_000 + UInt64(size))])
        var clock = Stopwatch()
        let tip = try hq.integrate([operation("late-\(size)-b", lamport: 10_000_000_001 + UInt64(size))])
        let append = clock.seconds * 1000
        clock = Stopwatch()
        let old = try hq.integrate([operation("late-\(size)-a", lamport: 1)])
        let late = clock.seconds * 1000
        guard [warm, tip, old].allSatisfy({ $0.outcomes.allSatisfy(\.isAccepted) }) else {
            throw Spawn.Failure(description: "HQ refused a late operation: \([warm, tip, old].map(\.outcomes))")
        }
        report.add(
            id: "hq.late.\(size)", "late arrival", "HQ integrates 1 op with lamport 1, on \(size.formatted3) ops", late,
            "ms",
            baseline: ("1 op with the highest lamport", append))
        return 3
    }
}
