import Foundation
import ShopfloorHQ
import ShopfloorReplication
import ShopfloorStore
import ShopfloorSync

/// The simulator's driver of the shipped sync: the device's ``SyncSession`` and HQ's ``SyncService``, with the
/// network between them replaced by the generator (lost requests and replies, duplicated and stale messages,
/// partitions, and a random order of a pull request against the fold running beside it). The session decides every
/// retry, realignment and cursor; this file only delivers, loses or repeats what it asks for.
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

    /// HQ's sync service over HQ's current file (the handle changes when HQ crashes and reopens).
    var service: SyncService {
        get throws {
            SyncService(replica: hq.replica, registry: try DeviceRegistry(replica: hq.replica), snapshots: snapshots)
        }
    }

    /// One sync session of `node`, as `shopfloor sync` runs it.
    func sync(_ node: SimulatedNode, faults: Bool) {
        count("sync.attempt")
        do {
            let service = try self.service
            guard let credentials = node.credentials else { preconditionFailure("\(node.id) is not enrolled") }
            let device = try service.registry.authenticate(id: credentials.deviceID, secret: credentials.secret)
            try drive(node, device: device, service: service, faults: faults)
        } catch let crash as SimulatedCrash {
            note("\(node.id) sync: \(crash)")
        } catch {
            violate("error", node, "sync threw \(error)")
        }
    }

    private func sessionConfiguration(faults: Bool) -> SyncSession.Configuration {
        let pageLimit = faults ? rng.int(1...configuration.pullOperationsMax) : configuration.pullOperationsMax
        var session = SyncSession.Configuration(
            batchOperationsMax: faults ? rng.int(1...configuration.pushOperationsMax) : configuration.pushOperationsMax,
            attemptsMax: configuration.attemptsMax, backoffInitialSeconds: 0, backoffMaxSeconds: 0,
            pullGroupEntries: rng.int(1...3 * pageLimit), pullPageLimit: pageLimit,
            snapshotFormat: Replica.snapshotFormat, snapshotChunkBytes: rng.int(4096...65_536))
        session.fault = configuration.sessionFault
        return session
    }

    /// Runs a session to its end. What the session asks for waits in `pending` (at most a request and a fold); with
    /// faults, whichever of them completes first is drawn.
    private func drive(
        _ node: SimulatedNode, device: DeviceRegistry.Record, service: SyncService, faults: Bool
    ) throws {
        var session = SyncSession(replica: node.id, configuration: sessionConfiguration(faults: faults))
        var settings = try SyncSettings.load(from: node.replica)
        let download = SnapshotDownload(replica: node.replica)
        var actions = session.start(
            pushed: settings.pushed, vector: node.replica.versionVector,
            sequencedThrough: node.replica.sequencedThrough, partialSnapshot: download.partial())
        var pending: [() throws -> SyncSession.Event] = []
        // Bounded: each event is a read, an answer, a wait or a fold, and a session has finitely many of each.
        for _ in 0..<1_000_000 {
            for action in actions {
                switch action {
                case .read(let after, let limit):
                    let operations = try node.replica.operations(authoredBy: node.id, after: after, limit: limit)
                    pending.insert({ .read(operations) }, at: 0)
                case .savePushed(let counter):
                    settings.pushed = counter
                    try settings.save(to: node.replica)
                    node.sent = counter
                case .progress: break
                case .send(let request):
                    pending.append { [self] in try deliver(request, from: node, device, service, faults: faults) }
                case .wait:
                    count("sync.retry")
                    pending.append { .waited }
                case .integrate(let pages):
                    pending.append { [self] in try fold(pages, into: node, faults: faults) }
                case .storeSnapshot(let id, let offset, let bytes):
                    try download.store(id: id, offset: offset, bytes: bytes)
                case .install(let manifest):
                    count("snapshot.install")
                    pending.append { [self] in
                        let event = try download.install(manifest)
                        note("\(node.id) snapshot \(manifest.id) (\(manifest.operations) operations): \(event)")
                        return event
                    }
                case .finish(let summary):
                    count("sync.completed")
                    note(
                        "\(node.id) synced (pushed \(summary.pushed), duplicates \(summary.duplicates), pulled "
                            + "\(summary.pulled)): vector \(node.replica.versionVector), through seq "
                            + "\(node.replica.sequencedThrough)")
                    return
                case .fail(let failure):
                    ended(node, failure)
                    return
                }
            }
            guard !pending.isEmpty else {
                violate("sync", node, "the session waits for nothing")
                return
            }
            let next = pending.remove(at: faults ? rng.int(0...pending.count - 1) : 0)
            actions = session.handle(try next())
        }
        violate("sync", node, "the session did not end")
    }

    private func ended(_ node: SimulatedNode, _ failure: SyncSession.Failure) {
        switch failure {
        case .unreachable(let attempts, let lastError):
            count("sync.gave-up")
            note("\(node.id) gave up after \(attempts) attempts: \(lastError)")
        case .refused(let status, let code, let message):
            violate("sync-refused", node, "HQ refused the session (\(status) \(code)): \(message)")
        case .protocolViolation(let message):
            violate("protocol", node, message)
        }
    }

    // MARK: Requests

    /// Delivers one request to HQ's service, or loses it or its reply, or repeats it.
    private func deliver(
        _ request: SyncSession.Request, from node: SimulatedNode, _ device: DeviceRegistry.Record,
        _ service: SyncService, faults: Bool
    ) throws -> SyncSession.Event {
        if node.partitionedUntil > step {
            count("sync.partitioned")
            return .failed("HQ unreachable (partitioned)")
        }
        let fate = fate(faults: faults)
        if case .requestLost = fate {
            count("request-lost")
            note("\(node.id) request lost on the way")
            return .failed("request lost")
        }
        if case .reordered = fate, case .push(let push) = request, let last = push.operations.last {
            try pushLaterBatchFirst(node, device, service, after: last.id.counter, size: push.operations.count)
        }
        if case .reordered = fate, case .pull(let pull) = request {
            try pullLaterPageFirst(node, device, service, pull)
        }
        let event = try answer(request, node, device, service)
        if case .duplicated = fate { try repeatRequest(request, node, device, service) }
        if case .replyLost = fate {
            count("reply-lost")
            note("\(node.id) reply lost")
            return .failed("reply lost")
        }
        return event
    }

    /// HQ's answer to a request, through the wire's encodings: the batch encoding for pushes and pull pages.
    private func answer(
        _ request: SyncSession.Request, _ node: SimulatedNode, _ device: DeviceRegistry.Record,
        _ service: SyncService
    ) throws -> SyncSession.Event {
        do {
            switch request {
            case .push(let push):
                count("push.batch")
                let received = try BatchEncoding.decodePush(BatchEncoding.encode(push))
                let response = try service.push(received, from: device)
                node.lastBatch = push.operations
                count("push.stored")
                note("\(node.id) pushed \(push.operations.first!.id)…\(push.operations.last!.id)")
                return .answered(.pushed(response))
            case .pull(let pull):
                count("pull.page")
                let page = try BatchEncoding.decodePull(BatchEncoding.encode(try service.pull(pull, from: device)))
                note(
                    "\(node.id) pulled after \(pull.after ?? 0): \(page.operations.count) operations, "
                        + "\(page.sequenced.count) assignments, through \(page.last)")
                return .answered(.page(page))
            case .vector:
                count("push.realigned")
                return .answered(.vector(hq.replica.versionVector))
            case .snapshotOffer(let ask):
                let offer = try service.snapshotOffer(ask, from: device)
                if offer.snapshot != nil { count("snapshot.offered") }
                return .answered(.snapshotOffer(offer.snapshot))
            case .snapshotBytes(let id, let offset, let length):
                count("snapshot.chunk")
                return .answered(.snapshotBytes(try service.snapshotBytes(id, offset: offset, length: length)))
            }
        } catch let refusal as HQPushRefusal {
            note("\(node.id) push refused: \(refusal.error)")
            return .refused(
                status: Int(refusal.error.status.code), code: refusal.error.code, message: refusal.error.message,
                retryAfterSeconds: nil)
        } catch let error as HQError {
            note("\(node.id) request refused: \(error)")
            return .refused(
                status: Int(error.status.code), code: error.code, message: error.message,
                retryAfterSeconds: error.retryAfter)
        }
    }

    /// A request arrives twice (a retry crossing the reply), or an older push arrives late: a push's copy must be
    /// all duplicates and leave HQ as it was.
    private func repeatRequest(
        _ request: SyncSession.Request, _ node: SimulatedNode, _ device: DeviceRegistry.Record,
        _ service: SyncService
    ) throws {
        count("request-duplicated")
        guard case .push(let push) = request else {
            _ = try? answer(request, node, device, service)
            return
        }
        let copy = rng.chance(50) || node.lastBatch.isEmpty ? push.operations : node.lastBatch
        let before = hq.replica.versionVector
        do {
            let response = try service.push(PushRequest(replica: node.id, operations: copy), from: device)
            if !response.results.allSatisfy({ $0.status == .duplicate }) || hq.replica.versionVector != before {
                violate("idempotence", node, "a repeated push was not all duplicates: \(response.results)")
            }
        } catch let refusal as HQPushRefusal {
            // The original was refused too (a gap HQ lacks): the copy is refused alike and stores nothing.
            if hq.replica.versionVector != before {
                violate("atomicity", hq, "a refused repeated push changed HQ: \(refusal.error)")
            }
        }
    }

    // MARK: Folding

    /// Folds the pages the session took, in one transaction; sometimes folds them again, as a device does that
    /// crashed after the commit and before it went on, which must change nothing.
    private func fold(_ pages: [PullResponse], into node: SimulatedNode, faults: Bool) throws -> SyncSession.Event {
        let integration = try node.replica.integrate(pages: pages)
        count("pull.accepted", integration.accepted)
        if faults, rng.chance(configuration.faultPercent) {
            count("pull.folded-twice")
            let before = try snapshot(node.replica)
            // Every operation held already: none accepted, none refused (so all duplicates), nothing changed.
            let again = try node.replica.integrate(pages: pages)
            let after = try snapshot(node.replica)
            if again.accepted != 0 || again.refusal != nil || after != before {
                violate(
                    "idempotence", node,
                    "pages folded twice changed the replica: \(again.accepted) accepted, \(again.refusal ?? "none refused")"
                )
            }
        }
        return .integrated(integration)
    }

    // MARK: Out-of-order delivery

    /// The batch after `counter` arrives before the one that precedes it: HQ must refuse the gap and store nothing.
    private func pushLaterBatchFirst(
        _ node: SimulatedNode, _ device: DeviceRegistry.Record, _ service: SyncService, after counter: UInt64,
        size: Int
    ) throws {
        let later = try node.replica.operations(authoredBy: node.id, after: counter, limit: size)
        guard let first = later.first else { return }
        count("push.reordered")
        let held = hq.replica.versionVector[node.id]
        // After a lost reply HQ may already hold the earlier batch: then there is no gap and the later one is fine.
        let gap = held + 1 < first.id.counter
        let before = try snapshot(hq.replica)
        var code: String?
        do {
            _ = try service.push(PushRequest(replica: node.id, operations: later), from: device)
        } catch let refusal as HQPushRefusal {
            code = refusal.error.code
        }
        note("\(node.id) pushed \(first.id)… before its predecessor: refused=\(code ?? "no")")
        guard gap else { return }
        if code != RefusalCode.missingDependency.rawValue {
            violate(
                "causal-delivery", node,
                "HQ held \(node.id):\(held) and was offered \(first.id): expected a missing_dependency refusal, got "
                    + "\(code ?? "none")")
        }
        if try snapshot(hq.replica) != before {
            violate("atomicity", hq, "a refused push changed HQ")
        }
    }

    /// The page after the one asked for is delivered first (all or nothing, so a gap changes nothing); the session
    /// then goes on with the one it asked for.
    private func pullLaterPageFirst(
        _ node: SimulatedNode, _ device: DeviceRegistry.Record, _ service: SyncService, _ pull: PullRequest
    ) throws {
        let page = try service.pull(pull, from: device)
        var holding = pull.vector
        for op in page.operations { holding.record(op.id) }
        let later = try service.pull(
            PullRequest(vector: holding, limit: pull.limit, after: page.last), from: device)
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
        let assignments = Dictionary(later.sequenced.map { ($0.id, $0.seq) }, uniquingKeysWith: { $1 })
        let before = try snapshot(node.replica)
        let report = try node.replica.integrate(later.operations, allOrNothing: true, assignments: assignments)
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
