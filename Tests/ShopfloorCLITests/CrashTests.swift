import Foundation
import GRDB
import ShopfloorDomain
import ShopfloorStore
import Testing

extension CLIProcessTests {
    /// SIGKILL in the middle of writes: the replica stays intact, keeps every committed operation and nothing else,
    /// and its projections equal a rebuild from the log.
    @Suite struct CrashTests {
        /// Lines of `shopfloor` confirmations a child has printed so far.
        static func confirmations(_ launched: CLISandbox.Launched) -> Int {
            launched.stdout.split(separator: "\n").filter { $0.hasPrefix("recorded ") }.count
        }

        /// A burst of `stock adjust` processes in a shell loop, killed (the whole process group) after a seeded number
        /// of confirmations plus a seeded delay, so the kill lands at a different point of a write each time.
        @Test(arguments: [UInt64(11), 22, 33, 44, 55])
        func killedBurstOfAdjustments(seed: UInt64) throws {
            var rng = SeededGenerator(seed: seed)
            let target = Int.random(in: 2...12, using: &rng)
            let delay = Double(Int.random(in: 0...70, using: &rng)) / 1000
            let floor = try CLISandbox("burst-\(seed)")
            _ = try floor.json(InitJSON.self, ["init", "--name", "burst"])
            try floor.record("location", "add", "PLANT")
            try floor.record("item", "add", "STEEL", "--kind", "material", "--unit", "kg")
            let setupOperations = 2

            let burst = try floor.startShell(
                """
                for i in $(seq 1 2000); do
                  "$SHOPFLOOR_CLI" stock adjust STEEL 1 --location PLANT --unit-cost 2.50 || exit 1
                done
                """)
            let deadline = Date().addingTimeInterval(60)
            while Self.confirmations(burst) < target, burst.process.isRunning, Date() < deadline { usleep(1_000) }
            ProcessControl.sleep(seconds: delay)
            let running = burst.process.isRunning
            #expect(running, "the burst ended before the kill: \(burst.stderr)")
            if running { try ProcessControl.killGroup(burst.process) }
            try ProcessControl.wait(burst.process)
            #expect(burst.process.terminationReason == .uncaughtSignal)
            let printed = Self.confirmations(burst)
            #expect(printed >= target, "killed after \(printed) confirmations, wanted at least \(target)")

            let digest: String
            let operations: Int
            do {
                let replica = try Replica.openQuietly(at: floor.databasePath)
                #expect(try replica.integrityCheck() == "ok")
                digest = try replica.digest()
                operations = replica.operationCount
                let adjustments = try replica.ledger().filter { $0.event == "ADJUST" }
                let logged = try replica.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ops WHERE kind = 'stock.adjust'")
                }
                // Each adjust wrote exactly one operation and one ADJUST entry; nothing half-written.
                #expect(adjustments.count == operations - setupOperations)
                #expect(logged == adjustments.count)
                // Every printed confirmation is in; at most one more (killed between its commit and its print).
                #expect(
                    adjustments.count == printed || adjustments.count == printed + 1,
                    "\(adjustments.count) adjustments recorded, \(printed) confirmed")
                var value = Amount.zero
                for _ in 0..<adjustments.count { value += try RecomputedPosition.parse("2.5") }
                let steel = try replica.positions(sku: "STEEL", location: "PLANT")
                #expect(steel.map { "\($0.onHand) \($0.value)" } == ["\(adjustments.count) \(value)"])

                try replica.rebuild()
                #expect(try replica.digest() == digest, "the projections after the kill differ from a rebuild")
                #expect(replica.operationCount == operations)
            }

            // The CLI carries on from there.
            try floor.record("stock", "adjust", "STEEL", "1", "--location", "PLANT", "--unit-cost", "2.50")
            #expect(try floor.digest().operations == operations + 1)
            let rebuilt = try floor.json(RebuildJSON.self, ["rebuild"])
            #expect(rebuilt.equal)
        }

        /// When a round kills the import.
        enum KillMoment: CustomStringConvertible {
            /// Once the write-ahead log holds this many bytes: inside the write transaction.
            case walBytes(Int)
            /// This fraction of a full import's duration after the start.
            case fraction(Double)

            var description: String {
                switch self {
                case .walBytes(let bytes): "when the WAL reaches \(bytes) bytes"
                case .fraction(let fraction): "at \(Int(fraction * 100)) % of a full import's time"
                }
            }
        }

        static let importedRows = 20_000

        static func itemsCSV() -> String {
            var text = "sku,kind,unit,name\n"
            for row in 0..<importedRows { text += "M\(100_000 + row),material,kg,Material \(row)\n" }
            return text
        }

        /// Every item row, `sku,kind,unit,name`, sorted by SKU.
        static func items(_ database: String) throws -> [String] {
            try Replica.openQuietly(at: database).read { db in
                try String.fetchAll(
                    db, sql: "SELECT sku || ',' || kind || ',' || unit || ',' || name FROM items ORDER BY sku")
            }
        }

        static func walSize(_ database: String) -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: database + "-wal"))?[.size] as? Int) ?? 0
        }

        /// `shopfloor import items` of 20,000 rows (one transaction) killed at five moments: afterwards the replica has
        /// none or all of the items, is intact, equals a rebuild, and the import can be run (again).
        @Test func killedImportIsAllOrNothing() throws {
            let csv = Self.itemsCSV()
            let rows = Self.importedRows

            // A full import on its own replica: its duration and its items. (Digests are compared within one replica
            // only: the projections name the operations, and another replica's operations have other ids.)
            let reference = try CLISandbox("import-reference")
            _ = try reference.json(InitJSON.self, ["init", "--name", "reference"])
            let referenceFile = try reference.write("items.csv", csv)
            let started = Date()
            let imported = try reference.json(ImportJSON.self, ["import", "items", referenceFile])
            let fullSeconds = Date().timeIntervalSince(started)
            #expect(imported.imported == rows && imported.kind == "item.add")
            #expect(try reference.digest().operations == rows)
            let allItems = try Self.items(reference.databasePath)
            #expect(allItems.count == rows)
            let empty = DigestJSON(digest: WorkedExampleCLITests.emptyDigest, operations: 0)

            let moments: [KillMoment] = [
                .walBytes(256 * 1024), .fraction(0.2), .walBytes(2 * 1024 * 1024), .fraction(0.5), .fraction(0.8),
            ]
            var reimported = false
            for moment in moments {
                let floor = try CLISandbox("import-kill")
                _ = try floor.json(InitJSON.self, ["init", "--name", "kill"])
                let file = try floor.write("items.csv", csv)
                let importing = try floor.start(["import", "items", file])
                let begin = Date()
                switch moment {
                case .walBytes(let bytes):
                    let deadline = begin.addingTimeInterval(120)
                    while Self.walSize(floor.databasePath) < bytes, importing.process.isRunning, Date() < deadline {
                        usleep(1_000)
                    }
                case .fraction(let fraction):
                    ProcessControl.sleep(seconds: fullSeconds * fraction - Date().timeIntervalSince(begin))
                }
                let killed = importing.process.isRunning
                if CLIProcessTests.verbose {
                    print("\(moment): killed=\(killed) after \(Date().timeIntervalSince(begin)) s of \(fullSeconds) s")
                }
                if killed { try ProcessControl.killGroup(importing.process) }
                try ProcessControl.wait(importing.process)
                if case .walBytes = moment {
                    #expect(killed, "\(moment): the import finished before the kill")
                }
                if !killed {
                    #expect(importing.process.terminationStatus == 0, "\(moment): \(importing.stderr)")
                }

                let after: DigestJSON
                let nothing: Bool
                do {
                    let replica = try Replica.openQuietly(at: floor.databasePath)
                    #expect(try replica.integrityCheck() == "ok", "\(moment)")
                    after = DigestJSON(digest: try replica.digest(), operations: replica.operationCount)
                    let items = try Self.items(floor.databasePath)
                    nothing = after == empty && items.isEmpty
                    let everything = after.operations == rows && items == allItems
                    #expect(
                        nothing || everything,
                        "\(moment): a partial import is visible: \(after), \(items.count) items")
                    try replica.rebuild()
                    #expect(try replica.digest() == after.digest, "\(moment): projections differ from a rebuild")
                    #expect(replica.operationCount == after.operations)
                }

                if CLIProcessTests.verbose { print("\(moment): checked at \(Date().timeIntervalSince(begin)) s") }
                // Importing the file (again) goes from there: it works after nothing (checked once: a full import is
                // the slow part of a round), it is refused after everything.
                if nothing && reimported { continue }
                let again = try floor.run(["import", "items", file, "--json"])
                if nothing {
                    reimported = true
                    #expect(again.status == 0, "\(moment): import after a kill that left nothing: \(again)")
                    #expect(try floor.digest().operations == rows)
                    #expect(try Self.items(floor.databasePath) == allItems)
                } else {
                    #expect(again.status == 1, "\(moment): a second import of the same items: \(again)")
                    #expect(again.stderr.contains("line 2") && again.stderr.contains("already exists"), "\(again)")
                    #expect(try floor.digest() == after)
                }
            }
        }
    }
}
