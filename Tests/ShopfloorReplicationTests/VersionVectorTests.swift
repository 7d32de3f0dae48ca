import Foundation
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import Testing

@Suite struct VersionVectorTests {
    @Test func zeroEntriesAreDropped() {
        let vector = VersionVector(["a": 3, "b": 0])
        #expect(vector.counters == ["a": 3])
        #expect(vector == VersionVector(["a": 3]))
        var mutated = vector
        mutated["a"] = 0
        #expect(mutated.counters.isEmpty)
        #expect(mutated == VersionVector())
        mutated["c"] = 0
        #expect(mutated.counters.isEmpty)
        #expect(vector["unknown"] == 0)
    }

    @Test func containsMeansCounterCovered() {
        let vector = VersionVector(["a": 3])
        #expect(vector.contains(OperationID(replica: "a", counter: 1)))
        #expect(vector.contains(OperationID(replica: "a", counter: 3)))
        #expect(!vector.contains(OperationID(replica: "a", counter: 4)))
        #expect(!vector.contains(OperationID(replica: "b", counter: 1)))
    }

    @Test func isCoveredIsPointwiseLessOrEqual() {
        let small = VersionVector(["a": 2, "b": 1])
        let big = VersionVector(["a": 3, "b": 1, "c": 5])
        #expect(small.isCovered(by: big))
        #expect(!big.isCovered(by: small))
        #expect(small.isCovered(by: small))
        #expect(VersionVector().isCovered(by: small))
        #expect(!small.isCovered(by: VersionVector()))
        // Concurrent vectors cover neither way.
        let left = VersionVector(["a": 2])
        let right = VersionVector(["b": 1])
        #expect(!left.isCovered(by: right) && !right.isCovered(by: left))
    }

    @Test func mergedIsThePointwiseMaximum() {
        let left = VersionVector(["a": 2, "b": 7])
        let right = VersionVector(["b": 3, "c": 1])
        let merged = left.merged(with: right)
        #expect(merged == VersionVector(["a": 2, "b": 7, "c": 1]))
        #expect(merged == right.merged(with: left))
        #expect(merged.merged(with: merged) == merged)
        #expect(left.merged(with: VersionVector()) == left)
        #expect(left.isCovered(by: merged) && right.isCovered(by: merged))
        #expect(merged.total == 10)
    }

    @Test func recordOnlyMovesForward() {
        var vector = VersionVector()
        vector.record(OperationID(replica: "a", counter: 2))
        vector.record(OperationID(replica: "a", counter: 1))
        #expect(vector["a"] == 2)
    }

    @Test func missingListsWhatTheOtherHas() {
        let mine = VersionVector(["a": 2, "b": 5])
        let theirs = VersionVector(["a": 4, "b": 5, "c": 2])
        let missing = mine.missing(from: theirs)
        #expect(missing == ["a": 3...4, "c": 1...2])
        #expect(theirs.missing(from: mine).isEmpty)
        #expect(mine.missing(from: mine).isEmpty)
        // The ranges add up to the difference in totals when one covers the other.
        #expect(missing.values.map(\.count).reduce(0, +) == Int(theirs.total - mine.total))
    }

    @Test func encodesAsAPlainObject() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let vector = VersionVector(["b": 2, "a": 10])
        #expect(String(decoding: try encoder.encode(vector), as: UTF8.self) == #"{"a":10,"b":2}"#)
        #expect(String(decoding: try encoder.encode(VersionVector()), as: UTF8.self) == "{}")
        let decoded = try JSONDecoder().decode(VersionVector.self, from: Data(#"{"a":10,"b":0,"c":1}"#.utf8))
        #expect(decoded == VersionVector(["a": 10, "c": 1]))
        #expect(decoded.counters.keys.sorted() == ["a", "c"])
        // Inside an operation it is the "context" field, still a plain object.
        let op = ShopOperation(
            id: OperationID(replica: "a", counter: 11), lamport: 12, context: vector,
            timestamp: "2026-01-15T12:00:00.000Z",
            date: "2026-01-15", command: .addLocation(Location(code: "DOCK")))
        let json = try JSONSerialization.jsonObject(with: try encoder.encode(op)) as? [String: Any]
        #expect(json?["context"] as? [String: Int] == ["a": 10, "b": 2])
        #expect(try JSONDecoder().decode(ShopOperation.self, from: try encoder.encode(op)) == op)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(VersionVector.self, from: Data("[1,2]".utf8)) }
    }

    @Test func descriptionIsSorted() {
        #expect(VersionVector(["b": 2, "a": 1]).description == "{a:1,b:2}")
    }

    @Test func operationIDRoundTripsItsText() {
        let id = OperationID(replica: "dev:with:colons", counter: 42)
        #expect(id.description == "dev:with:colons:42")
        #expect(OperationID(id.description) == id)
        #expect(OperationID("no-counter") == nil)
        #expect(OperationID("a:-1") == nil)
    }

    @Test func canonicalKeyOrdersByLamportThenReplicaThenCounter() {
        let keys = [
            CanonicalKey(lamport: 2, replica: "a", counter: 9),
            CanonicalKey(lamport: 1, replica: "b", counter: 1),
            CanonicalKey(lamport: 2, replica: "a", counter: 3),
            CanonicalKey(lamport: 1, replica: "a", counter: 5),
        ]
        #expect(
            keys.sorted() == [
                CanonicalKey(lamport: 1, replica: "a", counter: 5), CanonicalKey(lamport: 1, replica: "b", counter: 1),
                CanonicalKey(lamport: 2, replica: "a", counter: 3), CanonicalKey(lamport: 2, replica: "a", counter: 9),
            ])
    }

    /// HQ's sequence numbers come first, in their order, whatever the clocks say; unsequenced operations follow in
    /// (lamport, replica, counter) order; the sequence number is metadata, not content.
    @Test func sequencedKeysComeFirstInSequenceOrder() {
        let early = CanonicalKey(seq: 2, lamport: 50, replica: "z", counter: 9)
        let later = CanonicalKey(seq: 3, lamport: 1, replica: "a", counter: 1)
        let unsequenced = CanonicalKey(lamport: 1, replica: "a", counter: 1)
        #expect(early < later)
        #expect(later < unsequenced)
        #expect(early < unsequenced)
        #expect(!(unsequenced < early))
        #expect([unsequenced, later, early].sorted() == [early, later, unsequenced])
        var op = ShopOperation(
            id: OperationID(replica: "a", counter: 1), lamport: 1, context: VersionVector(), timestamp: "t",
            date: "2026-01-15", command: .addLocation(Location(code: "DOCK")))
        let plain = op
        op.seq = 7
        #expect(op.sameContent(as: plain))
        #expect(op.key == CanonicalKey(seq: 7, lamport: 1, replica: "a", counter: 1))
        op.lamport = 2
        #expect(!op.sameContent(as: plain))
    }

    /// Operations recorded by replicas that exchange now and then: each one's lamport exceeds everything in its
    /// context, so the canonical key extends happens-before, and each context is exactly what its author held.
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func canonicalKeyExtendsHappensBefore(seed: UInt64) throws {
        let lab = ReplicaLab()
        let (history, _) = try RandomHistory.onReplicas(seed: seed, steps: 120, lab: lab)
        checkCanonicalOrderExtendsHappensBefore(history.operations, comment: "seed \(seed)")
        var lamports: [OperationID: UInt64] = [:]
        for op in history.operations { lamports[op.id] = op.lamport }
        for op in history.operations {
            // The context holds the author's previous operation and nothing of its own future.
            #expect(op.context[op.id.replica] == op.id.counter - 1, "seed \(seed): \(op.id)")
            // Lamport: greater than every operation in the context (checking the last of each author suffices).
            for (replica, counter) in op.context.counters {
                #expect(
                    lamports[OperationID(replica: replica, counter: counter)]! < op.lamport, "seed \(seed): \(op.id)")
            }
            // A concurrent pair may sort either way, but never against causality.
            #expect(!op.context.contains(op.id), "seed \(seed): \(op.id) is in its own context")
        }
    }

    /// A hand-built causal chain across three replicas: each op's key is greater than every op in its context.
    @Test func recordedOperationsSortAfterTheirContext() throws {
        let lab = ReplicaLab()
        let a = try lab.replica("zz")
        let b = try lab.replica("aa")
        try a.record(.addLocation(Location(code: "A1")))
        try a.record(.addLocation(Location(code: "A2")))
        try b.record(.addLocation(Location(code: "B1")))
        try pull(b, from: a)
        // B's next op saw A's two: even though "aa" < "zz" it must sort after them.
        let next = try b.record(.addLocation(Location(code: "B2"))).operation
        #expect(next.context == VersionVector(["zz": 2, "aa": 1]))
        for op in try a.allOperations() { #expect(op.key < next.key) }
        #expect(next.lamport == 3)
    }
}
