import ShopfloorReplication
import ShopfloorStore

/// The sync algorithm of `SyncClient` and HQ's push and pull endpoints, in process: the same calls on the same
/// replicas, with the network between them replaced by the generator (lost requests and replies, duplicated and
/// reordered messages, partitions).
extension SimulationRun {
    /// Fates of one message.
    private enum Fate {
        case delivered, requestLost, replyLost, duplicated, reordered
    }

    private func fate(faults: Bool) -> Fate {
        guard faults else { return .delivered }
        let p = configuration.faultPercent
        return rng.weighted([
            (.delivered, max(1, 100 - 4 * p)), (.requestLost, p), (.replyLost, p), (.duplicated, p), (.reordered, p),
        ])
    }

    /// One sync session of `node`: push its own operations, then pull until HQ has nothing more.
    func sync(_ node: SimulatedNode, faults: Bool) {
        count("sync.attempt")
        if node.partitionedUntil > step {
            count("sync.partitioned")
            note("\(node.id) cannot reach HQ (partitioned)")
            return
        }
        do {
            guard try push(node, faults: faults), try pull(node, faults: faults) else { return }
            count("sync.completed")
            note(
                "\(node.id) synced: vector \(node.replica.versionVector), through seq \(node.replica.sequencedThrough)")
        } catch let crash as SimulatedCrash {
            note("\(node.id) sync: \(crash)")
        } catch {
            violate("error", node, "sync threw \(error)")
        }
    }

    // MARK: Push

    /// Returns false when the session ended early (a lost message: the client gives up and retries next time).
    private func push(_ node: SimulatedNode, faults: Bool) throws -> Bool {
        var realignments = 0
        // Bounded: every pass sends at least one operation or realigns, and there are at most so many.
        for _ in 0..<100_000 {
            let size = faults ? rng.int(1...configuration.pushOperationsMax) : configuration.pushOperationsMax
            let batch = try node.replica.operations(authoredBy: node.id, after: node.sent, limit: size)
            guard let last = batch.last else { return true }
            count("push.batch")
            let fate = fate(faults: faults)
            switch fate {
            case .requestLost:
                count("push.request-lost")
                note("\(node.id) push of \(batch.first!.id)…\(last.id) lost on the way")
                return false
            case .replyLost:
                // HQ stored (or refused) the batch, but the device never hears: it will send it again.
                let report = try hq.replica.integrate(batch, author: node.id, allOrNothing: true)
                count("push.reply-lost")
                note("\(node.id) push of \(batch.first!.id)…\(last.id) stored=\(report.stored), reply lost")
                return false
            case .reordered:
                try pushLaterBatchFirst(node, after: last.id.counter, size: size)
            case .duplicated, .delivered:
                break
            }
            let report = try hq.replica.integrate(batch, author: node.id, allOrNothing: true)
            if report.stored {
                if case .duplicated = fate {
                    // The same batch again (a retry crossing the reply), or an older one arriving late.
                    try deliverPushAgain(node, rng.chance(50) || node.lastBatch.isEmpty ? batch : node.lastBatch)
                }
                node.lastBatch = batch
                node.sent = max(node.sent, last.id.counter)
                try node.saveSent()
                count("push.stored")
                note("\(node.id) pushed \(batch.first!.id)…\(last.id)")
                continue
            }
            let refusals = refusals(report.outcomes)
            if refusals.allSatisfy({ $0.code == .missingDependency }), realignments < 3 {
                // SyncClient: HQ lacks earlier operations; resend from HQ's vector.
                realignments += 1
                count("push.realigned")
                node.sent = hq.replica.versionVector[node.id]
                try node.saveSent()
                continue
            }
            violate("push-refused", node, "HQ refused its own operations: \(refusals.prefix(3).map(\.message))")
            return false
        }
        return true
    }

    /// A copy of a stored batch: every operation is a duplicate and HQ does not change.
    private func deliverPushAgain(_ node: SimulatedNode, _ batch: [ShopOperation]) throws {
        count("push.duplicated")
        let before = hq.replica.versionVector
        let report = try hq.replica.integrate(batch, author: node.id, allOrNothing: true)
        if !report.stored || !report.outcomes.allSatisfy({ $0 == .duplicate }) || hq.replica.versionVector != before {
            violate("idempotence", node, "a repeated push was not all duplicates: \(report.outcomes)")
        }
    }

    /// The batch after `counter` arrives before the one that precedes it: HQ must refuse the gap and store nothing.
    private func pushLaterBatchFirst(_ node: SimulatedNode, after counter: UInt64, size: Int) throws {
        let later = try node.replica.operations(authoredBy: node.id, after: counter, limit: size)
        guard let first = later.first else { return }
        count("push.reordered")
        let held = hq.replica.versionVector[node.id]
        // After a lost reply HQ may already hold the earlier batch: then there is no gap and the later one is fine.
        let gap = held + 1 < first.id.counter
        let before = try snapshot(hq.replica)
        let report = try hq.replica.integrate(later, author: node.id, allOrNothing: true)
        note("\(node.id) pushed \(first.id)… before its predecessor: stored=\(report.stored)")
        guard gap else { return }
        let refusals = refusals(report.outcomes)
        if report.stored || refusals.isEmpty || !refusals.allSatisfy({ $0.code == .missingDependency }) {
            violate(
                "causal-delivery", node,
                "HQ held \(node.id):\(held) and was offered \(first.id): expected a missing_dependency refusal, got "
                    + "stored=\(report.stored) \(refusals.map(\.code.rawValue))")
        }
        if try snapshot(hq.replica) != before {
            violate("atomicity", hq, "a refused push changed HQ")
        }
    }

    // MARK: Pull

    /// Returns false when the session ended early.
    private func pull(_ node: SimulatedNode, faults: Bool) throws -> Bool {
        for _ in 0..<100_000 {
            let limit = faults ? rng.int(1...configuration.pullOperationsMax) : configuration.pullOperationsMax
            let after = node.replica.sequencedThrough
            let page = try hq.replica.page(after: after, holding: node.replica.versionVector, limit: limit)
            if page.operations.isEmpty && page.sequenced.isEmpty {
                if page.more { violate("pull", node, "HQ said more operations remain after \(after) but sent none") }
                return true
            }
            count("pull.page")
            let fate = fate(faults: faults)
            switch fate {
            case .requestLost, .replyLost:
                count("pull.lost")
                note("\(node.id) pull after \(after) lost")
                return false
            case .reordered:
                try pullLaterPageFirst(node, page: page, limit: limit)
            case .duplicated, .delivered:
                break
            }
            try integrate(page, into: node)
            note(
                "\(node.id) pulled after \(after): \(page.operations.count) operations, \(page.sequenced.count) "
                    + "assignments, through \(page.last)")
            if case .duplicated = fate {
                count("pull.duplicated")
                let before = try snapshot(node.replica)
                let report = try node.replica.integrate(page.operations, assignments: assignments(page))
                let after = try snapshot(node.replica)
                if !report.outcomes.allSatisfy({ $0 == .duplicate }) || after != before {
                    violate("idempotence", node, "a page delivered twice changed the replica: \(report.outcomes)")
                }
            }
        }
        return true
    }

    private func assignments(_ page: PullPage) -> [OperationID: UInt64] {
        Dictionary(page.sequenced.map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
    }

    private func integrate(_ page: PullPage, into node: SimulatedNode) throws {
        let report = try node.replica.integrate(page.operations, assignments: assignments(page))
        let refusals = refusals(report.outcomes)
        if !refusals.isEmpty {
            violate("pull-refused", node, "a page from HQ was refused: \(refusals.prefix(3).map(\.message))")
        }
        count("pull.accepted", report.outcomes.filter(\.isAccepted).count)
    }

    /// The page after `page` is delivered first (all or nothing, so a gap changes nothing); the client then goes
    /// on with the earlier one.
    private func pullLaterPageFirst(_ node: SimulatedNode, page: PullPage, limit: Int) throws {
        var holding = node.replica.versionVector
        for op in page.operations { holding.record(op.id) }
        let later = try hq.replica.page(after: page.last, holding: holding, limit: limit)
        guard !later.operations.isEmpty else { return }
        count("pull.reordered")
        // Which of the later page's operations the replica can take now, checked as admission does.
        var vector = node.replica.versionVector
        var gap = false
        for op in later.operations {
            if op.id.counter != vector[op.id.replica] + 1 || !op.context.isCovered(by: vector) {
                gap = true
                break
            }
            vector.record(op.id)
        }
        let before = try snapshot(node.replica)
        let report = try node.replica.integrate(later.operations, allOrNothing: true, assignments: assignments(later))
        let refusals = refusals(report.outcomes)
        note("\(node.id) got the page after \(page.last) first: gap=\(gap) stored=\(report.stored)")
        if gap {
            count("pull.reordered.refused")
            if report.stored || !refusals.allSatisfy({ $0.code == .missingDependency }) {
                violate(
                    "causal-delivery", node,
                    "a page with a gap was not refused with missing_dependency: stored=\(report.stored) "
                        + "\(refusals.map(\.code.rawValue))")
            }
            if try snapshot(node.replica) != before {
                violate("atomicity", node, "a refused page changed the replica")
            }
        } else {
            count("pull.reordered.accepted")
            if !report.stored {
                violate("causal-delivery", node, "a page without a gap was refused: \(refusals.map(\.message))")
            }
        }
    }

    private struct Refusal {
        var code: RefusalCode
        var message: String
    }

    private func refusals(_ outcomes: [IntegrationOutcome]) -> [Refusal] {
        outcomes.compactMap { outcome in
            if case .refused(let code, let message) = outcome { return Refusal(code: code, message: message) }
            return nil
        }
    }

    // MARK: Attacks at the boundary

    /// Pushes HQ must refuse as a whole: another device's operations, a reused id with other content, a batch
    /// with one unreadable operation. HQ must not change.
    func tamperedPush(from node: SimulatedNode) {
        do {
            let before = try snapshot(hq.replica)
            let expected: RefusalCode
            let batch: [ShopOperation]
            var author = node.id
            switch rng.int(0...2) {
            case 0:
                batch = try node.replica.operations(authoredBy: node.id, after: 0, limit: 3)
                author = rng.pick(floors.map(\.id).filter { $0 != node.id } + ["hq"])!
                expected = .foreignAuthor
            case 1:
                guard var forged = try hq.replica.operations(authoredBy: node.id, after: 0, limit: 1).first else {
                    return
                }
                forged.kind = OperationKind.addLocation.rawValue
                forged.payload = #"{"code":"FORGED","name":""}"#
                batch = [forged]
                expected = .contentMismatch
            default:
                var valid = try node.replica.operations(
                    authoredBy: node.id, after: hq.replica.versionVector[node.id], limit: rng.int(0...3))
                let counter = hq.replica.versionVector[node.id] + UInt64(valid.count) + 1
                var context = valid.last?.context ?? VersionVector()
                context[node.id] = counter - 1
                let unreadable = ShopOperation(
                    id: OperationID(replica: node.id, counter: counter), lamport: (valid.last?.lamport ?? 0) + 1,
                    context: context, timestamp: "2026-01-01T00:00:00.000Z",
                    date: "2026-01-01", kind: "teleport.stock", payload: "{}")
                valid.append(unreadable)
                batch = valid
                expected = .unknownKind
            }
            guard !batch.isEmpty else { return }
            count("tampered-push")
            let report = try hq.replica.integrate(batch, author: author, allOrNothing: true)
            let codes = refusals(report.outcomes).map(\.code)
            note("\(node.id) tampered push (\(expected.rawValue)): stored=\(report.stored) \(codes)")
            if report.stored || !codes.contains(expected) {
                violate(
                    "boundary", node,
                    "a push that must be refused with \(expected.rawValue) got stored=\(report.stored) \(codes)")
            }
            if try snapshot(hq.replica) != before {
                violate("atomicity", hq, "a refused push (\(expected.rawValue)) changed HQ")
            }
        } catch {
            violate("error", node, "tampered push threw \(error)")
        }
    }

    // MARK: Healing

    /// Ends every partition and syncs everyone, fault-free, until nothing moves.
    func heal() {
        for node in floors { node.partitionedUntil = -1 }
        for round in 1...max(1, configuration.healRoundsMax) {
            for node in floors { sync(node, faults: false) }
            if quiet() {
                count("heal.rounds", round)
                return
            }
        }
        let hqVector = hq.replica.versionVector
        let behind = floors.filter {
            $0.replica.versionVector != hqVector || $0.sent != $0.replica.versionVector[$0.id]
        }
        violations.append(
            Violation(
                invariant: "convergence", step: step,
                detail: "still moving after \(configuration.healRoundsMax) fault-free sync rounds: HQ \(hqVector); "
                    + behind.map { "\($0.id) \($0.replica.versionVector) sent \($0.sent)" }.joined(separator: "; ")))
    }

    /// Everyone holds what HQ holds, knows HQ's whole sequence, and has nothing left to push.
    func quiet() -> Bool {
        let vector = hq.replica.versionVector
        let through = hq.replica.sequencedThrough
        return floors.allSatisfy { node in
            node.replica.versionVector == vector && node.replica.sequencedThrough == through
                && node.sent == vector[node.id]
        }
    }
}
