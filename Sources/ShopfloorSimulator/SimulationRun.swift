import Foundation
import ShopfloorDomain
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore

/// One run in progress: HQ and the floor replicas, the generator, and the bookkeeping the invariants need.
final class SimulationRun {
    let configuration: SimulationConfiguration
    var rng: SplitMix64
    let hq: SimulatedNode
    let floors: [SimulatedNode]
    var step = 0
    var violations: [Violation] = []
    var counters: [String: Int] = [:]
    var trace: [String] = []
    /// The number of operations each author recorded (accepted by local validation): HQ must end with exactly these.
    var authored: [String: UInt64] = [:]
    /// Ids of the receipt.add operations accepted anywhere: rule 1 says each ends up exactly once everywhere.
    var receiptOperations: [String] = []
    /// HQ's snapshots, offered to a device 15 or more operations behind.
    let snapshots: SnapshotStore

    var nodes: [SimulatedNode] { [hq] + floors }

    /// 2026-01-01T00:00:00Z: the simulated true time at step 0.
    static let epoch = Date(timeIntervalSince1970: 1_767_225_600)
    static let daySeconds = 86_400

    init(configuration: SimulationConfiguration) throws {
        self.configuration = configuration
        rng = SplitMix64(seed: configuration.seed)
        let directory = configuration.workDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func node(_ id: String, skewSeconds: Int, sequencer: Bool) throws -> SimulatedNode {
            let path = (directory as NSString).appendingPathComponent("\(id).sqlite")
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            let clock = SimulatedClock(start: Self.epoch.addingTimeInterval(TimeInterval(skewSeconds)))
            let tripwire = Tripwire()
            let replicaConfiguration = ReplicaConfiguration(
                now: { clock.now }, durable: false, sequencer: sequencer, logger: configuration.logger,
                crashSite: { site in try tripwire.pass(site) })
            return try SimulatedNode(
                id: id, path: path, clock: clock, configuration: replicaConfiguration, tripwire: tripwire)
        }
        hq = try node("hq", skewSeconds: 0, sequencer: true)
        snapshots = try SnapshotStore(
            directory: (directory as NSString).appendingPathComponent("snapshots"), lagMinimum: 15,
            refreshOperations: 10)
        var floors: [SimulatedNode] = []
        for index in 1...configuration.replicas {
            // Each device's clock is off by up to two days either way: business dates differ per device.
            let skew = rng.int(-2 * Self.daySeconds...2 * Self.daySeconds)
            floors.append(try node("r\(index)", skewSeconds: skew, sequencer: false))
        }
        self.floors = floors
        let registry = try DeviceRegistry(replica: hq.replica)
        for floor in floors { floor.credentials = try registry.add(name: floor.id) }
    }

    private enum Event: CaseIterable {
        case floorOperation, hqOperation, sync, transaction, crash, crashInside, partition, clockJump, tamperedPush
        case rebuild
    }

    func run() -> SimulationResult {
        setUp()
        for index in 0..<configuration.steps {
            step = index
            for node in nodes { node.clock.advance(seconds: rng.int(0...5_400)) }
            let event = rng.weighted([
                (Event.floorOperation, 56), (.hqOperation, 5), (.sync, 22), (.transaction, 5), (.crash, 3),
                (.crashInside, 3), (.partition, 3), (.clockJump, 2), (.tamperedPush, 3), (.rebuild, 1),
            ])
            switch event {
            case .floorOperation:
                let node = rng.pick(floors)!
                record(node, [makeIntent(for: node)])
            case .hqOperation: record(hq, [makeIntent(for: hq)])
            case .sync: sync(rng.pick(floors)!, faults: true)
            case .transaction: transaction(on: rng.chance(10) ? hq : rng.pick(floors)!)
            case .crash: crash(rng.pick(nodes)!)
            case .crashInside: crashInside(rng.chance(20) ? hq : rng.pick(floors)!)
            case .partition: partition(rng.pick(floors)!)
            case .clockJump: jumpClock(rng.pick(nodes)!)
            case .tamperedPush: tamperedPush(from: rng.pick(floors)!)
            case .rebuild: rebuild(rng.pick(nodes)!)
            }
        }
        step = configuration.steps
        heal()
        violations += checker().check()
        return result()
    }

    /// HQ's planner sets up most of the catalog and opening stock; some devices sync it before going out, the others
    /// start empty and add what they need themselves (so the same SKUs get added on several devices).
    func setUp() {
        var intents: [Intent] = SimulationCatalog.locations.map { code in
            Intent(
                label: "location.add", command: .addLocation(Location(code: code, name: code.lowercased())),
                mustRefuse: nil)
        }
        for item in SimulationCatalog.items where rng.chance(85) {
            intents.append(Intent(label: "item.add", command: .addItem(item), mustRefuse: nil))
        }
        for intent in intents { record(hq, [intent]) }
        for (parent, lines) in SimulationCatalog.boms where rng.chance(80) {
            record(
                hq, [Intent(label: "bom.set", command: .setBOM(SetBOM(parent: parent, lines: lines)), mustRefuse: nil)])
        }
        for sku in SimulationCatalog.stocked where rng.chance(70) {
            let adjust = AdjustStock(
                sku: sku, location: SimulationCatalog.locations[0], quantity: hundredths(rng.int(5_000...50_000)),
                unitCost: cost())
            record(hq, [Intent(label: "stock.adjust", command: .adjustStock(adjust), mustRefuse: nil)])
        }
        for node in floors where rng.chance(60) { sync(node, faults: false) }
    }

    func checker() -> InvariantChecker {
        InvariantChecker(
            hq: hq.replica, replicas: floors.map(\.replica), authored: authored, receiptOperations: receiptOperations)
    }

    func result() -> SimulationResult {
        let digest = (try? hq.replica.digest()) ?? "unreadable"
        var conflicts: [String: Int] = [:]
        for (conflict, _) in (try? hq.replica.conflicts) ?? [] { conflicts[conflict.kind.rawValue, default: 0] += 1 }
        return SimulationResult(
            seed: configuration.seed, replicas: configuration.replicas, steps: configuration.steps,
            violations: violations, digest: digest, operations: hq.replica.operationCount, counters: counters,
            conflicts: conflicts, trace: trace)
    }

    // MARK: Bookkeeping

    func count(_ key: String, _ amount: Int = 1) {
        counters[key, default: 0] += amount
    }

    func note(_ text: @autoclosure () -> String) {
        guard configuration.trace else { return }
        trace.append("\(step): \(text())")
    }

    /// The whole state of a node's replica as its user sees it; an unreadable file is a violation.
    func state(of node: SimulatedNode) -> Shop {
        do { return try node.replica.shop } catch {
            violate("error", node, "the replica's state cannot be read: \(error)")
            return Shop()
        }
    }

    func violate(_ invariant: String, _ node: SimulatedNode?, _ detail: String) {
        violations.append(Violation(invariant: invariant, replica: node?.id, step: step, detail: detail))
        note("VIOLATION [\(invariant)] \(detail)")
    }

    /// Notes an operation accepted by local validation.
    func accepted(_ op: ShopOperation) {
        let previous = authored[op.id.replica] ?? 0
        if op.id.counter != previous + 1 {
            violations.append(
                Violation(
                    invariant: "counter", replica: op.id.replica, step: step,
                    detail: "recorded \(op.id) after counter \(previous): counters must be gap-free"))
        }
        authored[op.id.replica] = max(previous, op.id.counter)
        if op.kind == OperationKind.addReceipt.rawValue { receiptOperations.append(op.id.description) }
    }

    // MARK: Faults other than the network's

    /// A crash between operations: drop the process's state and reopen the file; nothing may change.
    func crash(_ node: SimulatedNode) {
        count("crash")
        do {
            let before = (
                digest: try node.replica.digest(), vector: node.replica.versionVector, shop: try node.replica.shop
            )
            let sent = node.sent
            try node.crashAndReopen()
            note("\(node.id) crashed and reopened")
            if try node.replica.digest() != before.digest {
                violate("crash-recovery", node, "the digest changed across a close and reopen")
            }
            if node.replica.versionVector != before.vector {
                violate(
                    "crash-recovery", node, "vector \(before.vector) became \(node.replica.versionVector) on reopen")
            }
            if node.sent != sent {
                violate("crash-recovery", node, "saved push progress \(node.sent) differs from the confirmed \(sent)")
            }
            for difference in ShopComparison.differences(memory: before.shop, disk: try node.replica.shop).prefix(5) {
                violate(
                    "memory-vs-disk", node,
                    "before the crash, memory and the reloaded projections differ: \(difference)")
            }
        } catch {
            violate("error", node, "crash and reopen failed: \(error)")
        }
    }

    /// A crash inside a write transaction: a batch being recorded, a pull page being folded (on a device), a push
    /// being stored (at HQ) or a rebuild stops at a random crash site, half-written. Then the process dies and
    /// reopens, or lives on (its memory must match the rolled-back file). Nothing of that transaction may remain:
    /// the file is as before it (a recording or rebuild) or as after the pages committed before it (a sync), and
    /// the projections still equal a rebuild from the log.
    func crashInside(_ node: SimulatedNode) {
        count("crash-inside")
        do {
            let before = try snapshot(node.replica)
            let authoredBefore = authored[node.id]
            node.tripwire.arm(passes: rng.int(0...1))
            // HQ crashes while storing a device's push (or folding its own recording, or rebuilding).
            let action = rng.weighted([("record", 50), ("sync", 40), ("rebuild", 10)])
            switch action {
            case "record": record(node, makeBatch(for: node))
            case "sync": sync(node === hq ? rng.pick(floors)! : node, faults: false)
            default:
                do { try node.replica.rebuild() } catch is SimulatedCrash {}
            }
            guard let site = node.tripwire.disarm() else {
                count("crash-inside.missed")
                return
            }
            count("crash-inside.\(site.rawValue)")
            if rng.chance(30) {
                // The transaction failed but the process lives on: its memory must match the rolled-back file.
                let memory = try node.replica.shop
                let disk = try Replica.open(at: node.path, configuration: node.configuration).shop
                note("\(node.id) survived a failed transaction (\(action), at \(site.rawValue))")
                for difference in ShopComparison.differences(memory: memory, disk: disk).prefix(5) {
                    violate("memory-vs-disk", node, "after a transaction failed at \(site.rawValue): \(difference)")
                }
            } else {
                try node.crashAndReopen()
                note("\(node.id) crashed inside a transaction (\(action), at \(site.rawValue)) and reopened")
            }
            let after = try snapshot(node.replica)
            if action != "sync", after != before {
                violate("crash-recovery", node, "a transaction cut short at \(site.rawValue) left \(before) → \(after)")
            }
            if action == "sync", !before.vector.counters.allSatisfy({ after.vector[$0.key] >= $0.value }) {
                violate("crash-recovery", node, "a sync cut short lost operations: \(before.vector) → \(after.vector)")
            }
            if authored[node.id] != authoredBefore {
                violate("crash-recovery", node, "a recording cut short was reported as accepted")
            }
            let digest = try node.replica.digest()
            try node.replica.rebuild()
            if try node.replica.digest() != digest {
                violate("crash-recovery", node, "after a crash inside \(action), rebuilding changed the digest")
            }
        } catch {
            violate("error", node, "crash inside a transaction: \(error)")
        }
    }

    /// One device loses the network for a while; sometimes HQ itself is down for everyone.
    func partition(_ node: SimulatedNode) {
        if rng.chance(10) {
            count("outage")
            let until = step + rng.int(3...15)
            for floor in floors { floor.partitionedUntil = max(floor.partitionedUntil, until) }
            note("HQ unreachable for everyone until step \(until)")
            return
        }
        count("partition")
        node.partitionedUntil = step + rng.int(5...40)
        note("\(node.id) cut off from HQ until step \(node.partitionedUntil)")
    }

    /// An operator rebuilds a replica's projections from its log (`shopfloor rebuild`): nothing may change.
    func rebuild(_ node: SimulatedNode) {
        count("rebuild")
        do {
            let before = try node.replica.digest()
            let memory = try node.replica.shop
            try node.replica.rebuild()
            note("\(node.id) rebuilt its projections")
            if try node.replica.digest() != before {
                violate("rebuild", node, "rebuilding from the log changed the digest mid-run")
            }
            for difference in ShopComparison.differences(memory: memory, disk: try node.replica.shop).prefix(5) {
                violate(
                    "rebuild", node, "the state in memory before a rebuild differs from the rebuilt one: \(difference)")
            }
        } catch {
            violate("error", node, "rebuild failed: \(error)")
        }
    }

    /// A clock correction: forwards a few hours or days, or backwards up to two days.
    func jumpClock(_ node: SimulatedNode) {
        count("clock-jump")
        let seconds =
            rng.chance(35) ? -rng.int(3_600...2 * Self.daySeconds) : rng.int(3_600...3 * Self.daySeconds)
        node.clock.advance(seconds: seconds)
        note("\(node.id) clock jumps \(seconds) s to \(Replica.businessDate(node.clock.now))")
    }

    // MARK: Recording

    /// Records one command, or several all or nothing; a refusal by local validation is normal and counted.
    @discardableResult
    func record(_ node: SimulatedNode, _ intents: [Intent]) -> Bool {
        let label = intents.count == 1 ? intents[0].label : "batch"
        do {
            let recorded = try node.replica.record(intents.map(\.command))
            for (intent, result) in zip(intents, recorded) {
                count("record.\(intent.label)")
                accepted(result.operation)
                note("\(node.id) recorded \(result.operation.id) \(intent.label) \(result.operation.payload)")
            }
            if let wrong = intents.first(where: { $0.mustRefuse != nil }) {
                violate(
                    "local-validation", node,
                    "accepted \(wrong.label) that it must refuse (\(wrong.mustRefuse!)): \(wrong.command)")
            }
            return true
        } catch ReplicaError.refused(let error) {
            count("refused.\(label)")
            note("\(node.id) refused \(label): \(error)")
            return false
        } catch let crash as SimulatedCrash {
            note("\(node.id) recording \(label): \(crash)")
            return false
        } catch {
            violate("error", node, "recording \(label) threw \(error)")
            return false
        }
    }

    /// What a replica shows from outside: a rolled-back transaction must leave all of it as it was.
    struct Snapshot: Equatable {
        var digest: String
        var vector: VersionVector
        var operations: Int
        var nextReceiptID: String
    }

    func snapshot(_ replica: Replica) throws -> Snapshot {
        Snapshot(
            digest: try replica.digest(), vector: replica.versionVector, operations: replica.operationCount,
            nextReceiptID: replica.nextReceiptID())
    }

    /// Several commands recorded all or nothing, sometimes with a poisoned one: then nothing may be stored, in
    /// the file or in memory (the in-memory fold had already applied the commands before the poison).
    func transaction(on node: SimulatedNode) {
        var intents = makeBatch(for: node)
        let poisoned = rng.chance(50)
        if poisoned {
            let poison = Intent(
                label: "poison",
                command: .adjustStock(
                    AdjustStock(sku: SimulationCatalog.ghost, location: SimulationCatalog.locations[0], quantity: 1)),
                mustRefuse: "unknown SKU")
            intents.insert(poison, at: rng.int(0...intents.count))
        }
        do {
            let before = try snapshot(node.replica)
            let stored = record(node, intents)
            count(stored ? "transaction.stored" : poisoned ? "transaction.poisoned" : "transaction.refused")
            let after = try snapshot(node.replica)
            if stored {
                if after.operations != before.operations + intents.count {
                    violate(
                        "atomicity", node,
                        "a batch of \(intents.count) stored \(after.operations - before.operations) operations")
                }
            } else if after != before {
                violate("atomicity", node, "a refused batch changed the replica: \(before) → \(after)")
            }
            // The next recording must continue from the restored state.
            if !stored, rng.chance(50) { record(node, [makeIntent(for: node)]) }
        } catch {
            violate("error", node, "transaction check failed: \(error)")
        }
    }
}
