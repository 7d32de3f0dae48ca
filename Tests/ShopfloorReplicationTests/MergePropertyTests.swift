import Foundation
import ShopfloorDomain
import ShopfloorReplication
import ShopfloorStore
import Testing

/// Merging op sets is a join: commutative, associative, idempotent; and the state is a function of the op set
/// alone, whatever causal order the operations arrive in, in whatever batches, across restarts.
///
/// Every case is one seed of ``RandomHistory``: 3–5 replicas, a few hundred recorded operations, with partial
/// exchanges along the way. A failure names its seed; rerun it with `--filter "MergePropertyTests"` and the
/// printed seed in `seeds`.
@Suite struct MergePropertyTests {
    static let seeds: [UInt64] = Array(0..<50).map { 0x5EED_0000 + UInt64($0) }
    static let steps = 420

    /// Integrates `sets` in turn into a fresh replica, each as one batch in canonical order.
    static func merged(_ sets: [[ShopOperation]], lab: ReplicaLab, seed: UInt64) throws -> Replica {
        let replica = try lab.replica("m")
        for ops in sets {
            let report = try replica.integrate(ops)
            #expect(
                report.outcomes.allSatisfy { $0 == .accepted || $0 == .duplicate },
                "seed \(seed): \(report.outcomes.filter { !($0 == .accepted || $0 == .duplicate) })")
        }
        return replica
    }

    @Test(arguments: seeds)
    func mergeIsAJoinAndFoldIsOrderIndependent(seed: UInt64) throws {
        let note: Comment = "seed \(seed)"
        let history = try RandomHistory.inMemory(seed: seed, steps: Self.steps)
        let all = history.operations
        #expect(all.count >= 170, "seed \(seed): only \(all.count) operations")
        let (a, b, c) = (history.held[0], history.held[1], history.held[2])
        let lab = ReplicaLab()

        // The reference: the whole op set in canonical order.
        let reference = try Self.merged([all], lab: lab, seed: seed)
        let digest = try reference.digest()
        let conflicts = try reference.conflictRows(all: true)
        #expect(reference.operationCount == all.count, note)

        // The pure fold (no database) agrees with the replica's projections.
        var fold = Fold()
        for op in all { _ = fold.apply(op) }
        #expect(fold.shop.conflicts.map(\.id) == conflicts.map(\.id), note)
        #expect(
            try reference.orders().map { "\($0.number) \($0.status)" }
                == fold.shop.orders.values.sorted { $0.number < $1.number }.map { "\($0.number) \($0.status.rawValue)" },
            note)

        // Idempotent: the same set again changes nothing and is answered duplicate throughout.
        #expect(try reference.integrate(all).outcomes.allSatisfy { $0 == .duplicate }, note)
        #expect(try reference.integrate(a).outcomes.allSatisfy { $0 == .duplicate }, note)
        #expect(try reference.digest() == digest, note)

        // Merging whole op sets is expensive (each merge refolds), so the seeds take turns: even seeds check
        // commutativity, odd seeds associativity.
        if seed % 2 == 0 {
            // Commutative: A then B, B then A; and B again changes nothing.
            let ab = try Self.merged([a, b], lab: lab, seed: seed)
            let ba = try Self.merged([b, a], lab: lab, seed: seed)
            #expect(try ab.digest() == ba.digest(), note)
            #expect(try ab.conflictRows(all: true) == ba.conflictRows(all: true), note)
            #expect(ab.versionVector == ba.versionVector, note)
            let before = try ab.digest()
            #expect(try ab.integrate(b).outcomes.allSatisfy { $0 == .duplicate }, note)
            #expect(try ab.digest() == before, note)
        } else {
            // Associative: (A ∪ B) ∪ C against A ∪ (B ∪ C), the inner union being another replica's whole log.
            let abThenC = try Self.merged([a, b, c], lab: lab, seed: seed)
            let bc = try Self.merged([b, c], lab: lab, seed: seed)
            let aThenBC = try Self.merged([a, try bc.allOperations()], lab: lab, seed: seed)
            #expect(try abThenC.digest() == aThenBC.digest(), note)
            #expect(abThenC.versionVector == aThenBC.versionVector, note)
            #expect(try abThenC.conflictRows(all: true) == aThenBC.conflictRows(all: true), note)
            if history.authors == 3 { #expect(try abThenC.digest() == digest, note) }
        }

        // Any causal order, in random batches (often single operations), with restarts in between, folds to the
        // same state; and a rebuild from the log agrees.
        var rng = SplitMixRNG(seed: seed ^ 0xC0FF_EE00)
        let order = randomCausalOrder(all, rng: &rng)
        #expect(order.count == all.count, note)
        var replica = try lab.replica("t")
        var index = 0
        while index < order.count {
            let size = rng.chance(50) ? 1 + rng.below(3) : 4 + rng.below(40)
            let batch = Array(order[index..<min(order.count, index + size)])
            index += batch.count
            let outcomes = try replica.integrate(batch).outcomes
            #expect(outcomes.allSatisfy { $0 == .accepted }, "seed \(seed): \(outcomes)")
            if rng.chance(8) { replica = try lab.reopen(replica) }
        }
        #expect(try replica.digest() == digest, "seed \(seed): a causal order folds to another state")
        #expect(try replica.conflictRows(all: true) == conflicts, "seed \(seed): a causal order gives other conflicts")
        try replica.rebuild()
        #expect(try replica.digest() == digest, "seed \(seed): rebuild")

        checkCanonicalOrderExtendsHappensBefore(all, comment: note)
    }

    /// The generator really produces concurrency: across the seeds, every conflict kind the rules define shows up.
    @Test func historiesCoverEveryConflictKind() throws {
        var kinds = Set<String>()
        for seed in Self.seeds.prefix(8) {
            let lab = ReplicaLab()
            let history = try RandomHistory.inMemory(seed: seed, steps: Self.steps)
            let replica = try Self.merged([history.operations], lab: lab, seed: seed)
            kinds.formUnion(try replica.conflictRows(all: true).map(\.kind))
        }
        let rules: Set<String> = [
            "cancel-vs-receipt", "over-receipt", "receipt-after-close", "concurrent-edit", "negative-stock",
            "duplicate-number",
        ]
        #expect(rules.isSubset(of: kinds), "missing: \(rules.subtracting(kinds).sorted())")
    }
}
