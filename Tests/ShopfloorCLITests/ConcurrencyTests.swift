import Foundation
import ShopfloorStore
import Testing

extension CLIProcessTests {
    /// Several `shopfloor` processes writing to one replica at the same time (two operators, or a script and an
    /// operator, on one device).
    @Suite struct ConcurrencyTests {
        @Test func concurrentWritersOnOneReplica() throws {
            let floor = try CLISandbox("concurrent")
            _ = try floor.json(InitJSON.self, ["init", "--name", "concurrent"])
            try floor.record("location", "add", "PLANT")
            try floor.record("item", "add", "STEEL", "--kind", "material", "--unit", "kg")
            let (writers, each) = (3, 20)
            let loops = try (1...writers).map { writer in
                try floor.startShell(
                    """
                    for i in $(seq 1 \(each)); do
                      "$SHOPFLOOR_CLI" stock adjust STEEL 1 --location PLANT --unit-cost 2.50 && echo "ok \(writer)" \
                        || echo "failed \(writer) with $?"
                    done
                    """)
            }
            for loop in loops { try ProcessControl.wait(loop.process) }
            let outcomes = loops.flatMap { $0.stdout.split(separator: "\n").filter { !$0.hasPrefix("recorded ") } }
            let succeeded = outcomes.filter { $0.hasPrefix("ok ") }.count
            let failed = outcomes.filter { $0.hasPrefix("failed ") }
            #expect(succeeded + failed.count == writers * each)
            #expect(failed.allSatisfy { $0.hasSuffix("with 1") }, "\(failed)")

            // Whatever failed changed nothing, and whatever succeeded is in, once.
            let digest = try floor.digest()
            #expect(digest.operations == 2 + succeeded)
            #expect(try floor.position("STEEL").onHand == "\(succeeded)")
            let rebuilt = try floor.json(RebuildJSON.self, ["rebuild"])
            #expect(rebuilt.equal && rebuilt.before == digest.digest)
            #expect(try Replica.openQuietly(at: floor.databasePath).integrityCheck() == "ok")

            // A valid command should not fail because another process wrote first (it should wait for the write lock
            // and apply to the state it finds, or at worst say so plainly). Today the loser of the race exits 1 with
            // "SQLite error 19: UNIQUE constraint failed: ops.arrival": the replica's state is loaded when it is
            // opened and not re-read inside the write transaction.
            let messages = Set(loops.flatMap { $0.stderr.split(separator: "\n").map { $0.prefix(90) } })
            #expect(
                failed.count == 0, "\(failed.count) of \(writers * each) valid adjustments failed: \(messages.sorted())"
            )
        }
    }
}
