import ShopfloorReplication
import Testing

/// The sync session as a state machine: events in, actions out, no socket and no file.
@Suite struct SyncSessionTests {
    func operation(_ replica: String, _ counter: UInt64, seq: UInt64? = nil) -> ShopOperation {
        var context = VersionVector()
        context[replica] = counter - 1
        return ShopOperation(
            id: OperationID(replica: replica, counter: counter), lamport: counter, context: context,
            timestamp: "2026-01-01T00:00:00.000Z", date: "2026-01-01", kind: "location.add",
            payload: #"{"code":"L\#(counter)","name":""}"#, seq: seq)
    }

    func vector(_ entries: [String: UInt64]) -> VersionVector {
        VersionVector(entries)
    }

    func page(
        _ operations: [ShopOperation], last: UInt64, more: Bool, hq: VersionVector = VersionVector()
    )
        -> PullResponse
    {
        PullResponse(operations: operations, sequenced: [], last: last, more: more, vector: hq)
    }

    /// The requests among `actions`.
    func sent(_ actions: [SyncSession.Action]) -> [SyncSession.Request] {
        actions.compactMap { if case .send(let request) = $0 { request } else { nil } }
    }

    func pullAfter(_ actions: [SyncSession.Action]) -> UInt64? {
        sent(actions).compactMap { if case .pull(let pull) = $0 { pull.after } else { nil } }.first
    }

    @Test func nothingToPushOrPullFinishesAfterOneEmptyPage() {
        var session = SyncSession(replica: "r1")
        let start = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        guard case .read(after: 0, limit: 500) = start.first else {
            Issue.record("expected a read of own operations, got \(start)")
            return
        }
        let pull = session.handle(.read([]))
        #expect(pullAfter(pull) == 0)
        let end = session.handle(.answered(.page(page([], last: 0, more: false))))
        guard case .finish(let summary) = end.first else {
            Issue.record("expected the end, got \(end)")
            return
        }
        #expect(summary == SyncSession.Summary())
        #expect(session.finished)
    }

    @Test func pushesInBatchesAndSavesProgressAfterEachAnsweredOne() {
        var session = SyncSession(replica: "r1", configuration: SyncSession.Configuration(batchOperationsMax: 2))
        _ = session.start(pushed: 1, vector: vector(["r1": 4]), sequencedThrough: 7)
        let first = session.handle(.read([operation("r1", 2), operation("r1", 3)]))
        guard case .push(let push) = sent(first).first else {
            Issue.record("expected a push, got \(first)")
            return
        }
        #expect(push.operations.map(\.id.counter) == [2, 3])
        let answered = session.handle(
            .answered(
                .pushed(
                    PushResponse(
                        results: [
                            PushResult(id: "r1:2", status: .accepted), PushResult(id: "r1:3", status: .duplicate),
                        ],
                        vector: vector(["r1": 3])))))
        guard case .savePushed(3) = answered.first, case .read(after: 3, limit: 2) = answered.last else {
            Issue.record("expected progress 3 saved before the next read, got \(answered)")
            return
        }
        _ = session.handle(.read([operation("r1", 4)]))
        _ = session.handle(
            .answered(.pushed(PushResponse(results: [PushResult(id: "r1:4", status: .accepted)], vector: vector([:])))))
        #expect(pullAfter(session.handle(.read([]))) == 7)
        _ = session.handle(.answered(.page(page([], last: 7, more: false))))
        #expect(session.summary.pushed == 2 && session.summary.duplicates == 1)
    }

    @Test func transientFailuresBackOffThenGiveUp() {
        var session = SyncSession(
            replica: "r1",
            configuration: SyncSession.Configuration(
                attemptsMax: 4, backoffInitialSeconds: 0.1, backoffMaxSeconds: 0.3))
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        _ = session.handle(.read([]))
        var waits: [Double] = []
        for _ in 1...3 {
            let actions = session.handle(.failed("connection refused"))
            guard case .wait(let seconds) = actions.first else {
                Issue.record("expected a wait, got \(actions)")
                return
            }
            waits.append(seconds)
            // The same request again, unchanged.
            #expect(pullAfter(session.handle(.waited)) == 0)
        }
        #expect(waits == [0.1, 0.2, 0.3])
        let last = session.handle(.failed("connection refused"))
        guard case .fail(.unreachable(attempts: 4, lastError: "connection refused")) = last.first else {
            Issue.record("expected to give up after 4 attempts, got \(last)")
            return
        }
        #expect(session.finished)
        #expect(session.handle(.waited).isEmpty)
    }

    @Test func serverErrorsAreRetriedAndClientErrorsAreNot() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        _ = session.handle(.read([]))
        let retry = session.handle(.refused(status: 503, code: "busy", message: "later", retryAfterSeconds: nil))
        guard case .wait = retry.first else {
            Issue.record("a 503 is retried, got \(retry)")
            return
        }
        _ = session.handle(.waited)
        let refusal = session.handle(
            .refused(status: 403, code: "device_revoked", message: "gone", retryAfterSeconds: nil))
        guard case .fail(.refused(status: 403, code: "device_revoked", message: "gone")) = refusal.first else {
            Issue.record("a 403 ends the session, got \(refusal)")
            return
        }
    }

    @Test func aThrottleIsWaitedOutOnceAsTold() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        _ = session.handle(.read([]))
        let wait = session.handle(.refused(status: 429, code: "too_many", message: "slow", retryAfterSeconds: 7))
        guard case .wait(seconds: 7) = wait.first else {
            Issue.record("expected the 7 s HQ asked for, got \(wait)")
            return
        }
        _ = session.handle(.waited)
        let again = session.handle(.refused(status: 429, code: "too_many", message: "slow", retryAfterSeconds: 7))
        guard case .fail(.refused(status: 429, _, _)) = again.first else {
            Issue.record("a second throttle ends the session, got \(again)")
            return
        }
    }

    @Test func aPushHQCannotPlaceRealignsToHQsVector() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 5, vector: vector(["r1": 6]), sequencedThrough: 0)
        _ = session.handle(.read([operation("r1", 6)]))
        let asked = session.handle(
            .refused(status: 409, code: "missing_dependency", message: "r1:5 missing", retryAfterSeconds: nil))
        guard case .vector = sent(asked).first else {
            Issue.record("expected HQ's vector to be asked for, got \(asked)")
            return
        }
        let resend = session.handle(.answered(.vector(vector(["r1": 2]))))
        guard case .savePushed(2) = resend.first, case .read(after: 2, _) = resend.last else {
            Issue.record("expected to resend after HQ's 2, got \(resend)")
            return
        }
    }

    @Test func pullFoldsGroupsWhileTheNextPageIsFetched() {
        var session = SyncSession(
            replica: "r1", configuration: SyncSession.Configuration(pullGroupEntries: 2, pullPageLimit: 2))
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        _ = session.handle(.read([]))
        // A full page: fold it and fetch the next at once; one request and one fold outstanding.
        let first = session.handle(
            .answered(.page(page([operation("a", 1, seq: 1), operation("b", 1, seq: 2)], last: 2, more: true))))
        let folds = first.filter { if case .integrate = $0 { true } else { false } }
        #expect(folds.count == 1)
        #expect(pullAfter(first) == 2)
        // The next page arrives while the fold runs: held, and the one after it asked for (two groups at most).
        let second = session.handle(
            .answered(.page(page([operation("c", 1, seq: 3), operation("d", 1, seq: 4)], last: 4, more: true))))
        #expect(!second.contains { if case .integrate = $0 { true } else { false } })
        #expect(pullAfter(second) == 4)
        // The fold ends: the held page folds next; the request stays the only one outstanding.
        let folded = session.handle(
            .integrated(
                SyncSession.Integration(accepted: 2, vector: vector(["a": 1, "b": 1]), sequencedThrough: 2)))
        #expect(folded.contains { if case .integrate(let pages) = $0 { pages.count == 1 } else { false } })
        #expect(sent(folded).isEmpty)
        // The last page of the round is empty; after the fold a new round starts from what was committed.
        #expect(session.handle(.answered(.page(page([], last: 4, more: false)))).isEmpty)
        let round = session.handle(
            .integrated(
                SyncSession.Integration(
                    accepted: 2, vector: vector(["a": 1, "b": 1, "c": 1, "d": 1]), sequencedThrough: 4)))
        #expect(pullAfter(round) == 4)
        let end = session.handle(.answered(.page(page([], last: 4, more: false))))
        guard case .finish(let summary) = end.first else {
            Issue.record("expected the end, got \(end)")
            return
        }
        #expect(summary.pulled == 4)
    }

    @Test func aPageThatPromisesMoreButHoldsNothingIsAProtocolViolation() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 3)
        _ = session.handle(.read([]))
        let end = session.handle(.answered(.page(page([], last: 3, more: true))))
        guard case .fail(.protocolViolation) = end.first else {
            Issue.record("expected a protocol violation, got \(end)")
            return
        }
    }

    @Test func anOperationTheReplicaRefusesEndsThePull() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        _ = session.handle(.read([]))
        _ = session.handle(.answered(.page(page([operation("a", 1, seq: 1)], last: 1, more: false))))
        let end = session.handle(
            .integrated(
                SyncSession.Integration(
                    accepted: 0, refusal: "a:1 (unknown_kind)", vector: VersionVector(), sequencedThrough: 0)))
        guard case .fail(.protocolViolation(let message)) = end.first else {
            Issue.record("expected a protocol violation, got \(end)")
            return
        }
        #expect(message.contains("a:1"))
    }

    @Test func eventsNobodyAskedForEndTheSession() {
        var session = SyncSession(replica: "r1")
        _ = session.start(pushed: 0, vector: VersionVector(), sequencedThrough: 0)
        let end = session.handle(.answered(.vector(VersionVector())))
        guard case .fail(.protocolViolation) = end.first else {
            Issue.record("an answer before any request is a violation, got \(end)")
            return
        }
    }

    @Test func thePlantedDefectSkipsTheSave() {
        var configuration = SyncSession.Configuration()
        configuration.fault = .skipProgressSave
        var session = SyncSession(replica: "r1", configuration: configuration)
        _ = session.start(pushed: 0, vector: vector(["r1": 1]), sequencedThrough: 0)
        _ = session.handle(.read([operation("r1", 1)]))
        let answered = session.handle(
            .answered(.pushed(PushResponse(results: [PushResult(id: "r1:1", status: .accepted)], vector: vector([:])))))
        #expect(!answered.contains { if case .savePushed = $0 { true } else { false } })
    }
}
