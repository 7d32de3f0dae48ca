import AsyncHTTPClient
import Foundation
import NIOCore
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore

/// What one ingest configuration did.
struct IngestResult: Sendable {
    var accepted: Int
    var planned: Int
    var seconds: Double
    var pushLatencies: [Double]
    var stoppedAtBudget: Bool
    var hqPeakKiB: Int?
    /// This process's CPU over the run (HQ and the pushing clients when HQ is in-process).
    var cpuSeconds: Double = 0
}

extension Bench {
    /// Devices pushing their offline backlogs at once to HQ (durable: true) over real HTTP on 127.0.0.1.
    func ingest() async throws {
        for operations in plan.ingestSizes {
            for devices in plan.ingestDevices {
                Progress.say("ingest: \(devices) devices, \(operations.formatted3) ops, in-process HQ")
                let result = try await ingest(devices: devices, operations: operations, separateProcess: false)
                addIngest(result, devices: devices, operations: operations, where: "in-process HQ")
            }
        }
        let (devices, operations) = plan.ingestProcess
        Progress.say("ingest: \(devices) devices, \(operations.formatted3) ops, `shopfloor-hq serve` process")
        let result = try await ingest(devices: devices, operations: operations, separateProcess: true)
        addIngest(result, devices: devices, operations: operations, where: "HQ process")
        if let peak = result.hqPeakKiB {
            let mib = Double(peak) / 1024
            report.add(
                id: "memory.hq.ingest", "memory",
                "HQ peak RSS (VmHWM) after accepting \(result.accepted.formatted3) pushed ops from \(devices) devices",
                mib,
                "MiB",
                target: "≤ 256 MiB", met: mib <= 256)
        }
    }

    func addIngest(_ result: IngestResult, devices: Int, operations: Int, where place: String) {
        let rate = Double(result.accepted) / result.seconds
        var note =
            "CPU \((result.cpuSeconds / Double(max(result.accepted, 1)) * 1e6).formatted3) µs/op\(place == "HQ process" ? " (clients only)" : ""); push p50 \(percentile(result.pushLatencies, 50).formatted3) ms, max \((result.pushLatencies.max() ?? .nan).formatted3) ms"
        if result.stoppedAtBudget {
            note +=
                "; stopped at the \(Int(place == "HQ process" ? plan.ingestProcessBudgetSeconds : plan.ingestBudgetSeconds)) s budget with \(result.accepted.formatted3) of \(result.planned.formatted3) accepted"
        }
        // The target is for durable ingest over HTTP into `shopfloor-hq serve`; the goal beyond it is 0.4 × raw and the
        // Yjs in-memory merge rate.
        let process = place == "HQ process"
        let target: String? =
            process ? "≥ 0.06 × raw (goal 0.4 × raw\(yjs.map { ", Yjs \($0.mergeRate.formatted3)/s" } ?? ""))" : nil
        let met: Bool? = process ? rate >= 0.06 * limitOpsPerSecond : nil
        report.add(
            id: place == "HQ process" ? "ingest.http.\(devices)" : "ingest.inprocess.\(devices).\(operations)",
            "HQ ingest",
            "\(devices) device\(devices == 1 ? "" : "s") × \((operations / devices).formatted3) ops, \(place)", rate,
            "ops/s", baseline: ("raw burst", limitOpsPerSecond), target: target, met: met, note: note)
    }

    func ingest(devices: Int, operations: Int, separateProcess: Bool) async throws -> IngestResult {
        let database = try path("ingest-\(devices)x\(operations)\(separateProcess ? "-process" : "")/hq.sqlite")
        var hq: Replica? = try Replica.create(
            at: database, name: "hq", id: "hq", configuration: Self.quiet(durable: true, hq: true))
        for start in stride(from: 0, to: base.operations.count, by: 1000) {
            _ = try hq!.integrate(Array(base.operations[start..<min(start + 1000, base.operations.count)]))
        }
        let credentials = try (1...devices).map { try DeviceRegistry(replica: hq!).add(name: "bench-\($0)") }
        if separateProcess { hq = nil }

        // Every device's backlog, encoded as SyncClient would send it, before the clock starts.
        var streams = base.devices(devices)
        var bodies: [[[UInt8]]] = []
        var planned = 0
        for index in streams.indices {
            let share = operations / devices + (index < operations % devices ? 1 : 0)
            var pushes: [[UInt8]] = []
            var remaining = share
            while remaining > 0 {
                let batch = (0..<min(500, remaining)).map { _ in streams[index].next() }
                pushes.append(RawPusher.body(replica: streams[index].author.id, operations: batch))
                remaining -= batch.count
            }
            bodies.append(pushes)
            planned += share
        }
        let expected = streams.map { ($0.author.id, $0.author.vector[$0.author.id]) }

        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(devices, 8))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await ingest(
                devices: devices, http: http, credentials: credentials, bodies: bodies, expected: expected,
                planned: planned,
                database: database, hq: separateProcess ? nil : hq)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    func ingest(
        devices: Int, http: HTTPClient, credentials: [DeviceCredentials], bodies: [[[UInt8]]],
        expected: [(String, UInt64)],
        planned: Int, database: String, hq: Replica?
    ) async throws -> IngestResult {

        func run(url: String) async throws -> IngestResult {
            let budget = hq == nil ? plan.ingestProcessBudgetSeconds : plan.ingestBudgetSeconds
            let cpu = CPUTime.now()
            let clock = Stopwatch()
            let outcomes = try await withThrowingTaskGroup(of: (Int, [Double], Bool).self) { group in
                for index in 0..<devices {
                    let pusher = RawPusher(
                        http: http, hq: url, deviceID: credentials[index].deviceID, secret: credentials[index].secret)
                    let pushes = bodies[index]
                    let sizes = (0..<pushes.count).map { min(500, expected[index].1 - UInt64($0) * 500) }
                    group.addTask {
                        var accepted = 0
                        var latencies: [Double] = []
                        for (body, size) in zip(pushes, sizes) {
                            if clock.seconds > budget { return (accepted, latencies, true) }
                            let push = Stopwatch()
                            try await pusher.push(body)
                            latencies.append(push.seconds * 1000)
                            accepted += Int(size)
                        }
                        return (accepted, latencies, false)
                    }
                }
                var all: [(Int, [Double], Bool)] = []
                for try await outcome in group { all.append(outcome) }
                return all
            }
            return IngestResult(
                accepted: outcomes.map(\.0).reduce(0, +), planned: planned, seconds: clock.seconds,
                pushLatencies: outcomes.flatMap(\.1), stoppedAtBudget: outcomes.contains { $0.2 },
                cpuSeconds: CPUTime.now() - cpu)
        }

        var result: IngestResult
        guard let hq else {
            let server = try await HQProcess.start(
                binary: shopfloorHQ, database: database, logDirectory: try directory("logs"))
            do {
                result = try await run(url: server.url)
            } catch {
                _ = await server.stop()
                throw error
            }
            result.hqPeakKiB = server.peakKiB
            _ = await server.stop()
            let check = try Replica.open(at: database, configuration: Self.quiet(durable: false, hq: true))
            try verify(check.versionVector, result: result, expected: expected)
            return result
        }
        result = try await InProcessHQ.with(replica: hq) { _, url in try await run(url: url) }
        try verify(hq.versionVector, result: result, expected: expected)
        return result
    }

    /// Every push answered 200 was stored: HQ holds exactly what was accepted.
    func verify(_ vector: VersionVector, result: IngestResult, expected: [(String, UInt64)]) throws {
        let held = expected.map { Int(vector[$0.0]) }.reduce(0, +)
        guard held == result.accepted else {
            throw Spawn.Failure(
                description: "HQ holds \(held) device operations but \(result.accepted) were acknowledged")
        }
    }
}
