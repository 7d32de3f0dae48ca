import Foundation
import Testing

extension CLIProcessTests {
    /// The domain's worked example (Tests/ShopfloorDomainTests/WorkedExampleTests.swift), driven entirely through the
    /// `shopfloor` binary, checking the `--json` figures digit for digit after every step.
    @Suite struct WorkedExampleCLITests {
        /// The ledger lines an operation wrote, in index order.
        func lines(_ ledger: [LedgerEntryJSON], of operation: String) -> [String] {
            ledger.filter { $0.operation == operation }.sorted { $0.index < $1.index }.map(\.line)
        }

        @Test func chairFromSteelBoltsAndPaint() throws {
            let floor = try CLISandbox("worked-example")
            let created = try floor.json(InitJSON.self, ["init", "--name", "floor-1"])
            #expect(created.name == "floor-1")
            #expect(created.path == floor.databasePath)
            #expect(!created.replica.isEmpty)
            #expect(try floor.digest() == DigestJSON(digest: Self.emptyDigest, operations: 0))

            // Catalog and opening stock.
            try floor.seedWorkedCatalog()
            #expect(try floor.digest().operations == 12)
            #expect(
                try floor.ledger("--sku", "STEEL").map(\.line) == [
                    "ADJUST STEEL 100 @2 = 200", "ADJUST STEEL 50 @2.6 = 130",
                ])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 150, on_order 0, demand 0, allocated 0, available 150, projected 150, value 330")
            #expect(try floor.position("STEEL").unit == "kg")
            #expect(
                try floor.position("BOLT").figures
                    == "on_hand 1000, on_order 0, demand 0, allocated 0, available 1000, projected 1000, value 100")
            #expect(
                try floor.position("PAINT").figures
                    == "on_hand 20, on_order 0, demand 0, allocated 0, available 20, projected 20, value 300")

            // Explosion of 10 chairs: full (raw materials) and one level (FRAME stays a component).
            let full = try floor.json(ExplosionJSON.self, ["bom", "explode", "CHAIR", "--qty", "10"])
            #expect(full.levels == "full" && full.quantity == "10" && full.sku == "CHAIR")
            #expect(full.lines == ["BOLT 60 material ea", "PAINT 2 material l", "STEEL 25 material kg"])
            let one = try floor.json(ExplosionJSON.self, ["bom", "explode", "CHAIR", "--qty", "10", "--levels", "one"])
            #expect(one.levels == "one")
            #expect(one.lines == ["BOLT 20 material ea", "FRAME 10 component ea", "PAINT 2 material l"])

            // PO-1: 10 chairs at a production cost of 12.00 each.
            let create = try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-1", "--location", "PLANT", "--output",
                "CHAIR=10@12.00")
            #expect(create.kind == "order.create" && create.number == "PO-1" && create.entries == 0)
            var po = try floor.order("PO-1")
            #expect(po.status == "Draft" && po.kind == "production" && po.location == "PLANT")
            #expect(po.allowedEvents == ["enter", "cancel", "edit"])
            #expect(
                po.lines.map { "\($0.sku) \($0.ordered) \($0.produced) \($0.unitCost ?? "-")" } == ["CHAIR 10 0 12"])
            #expect(po.inputs.isEmpty && po.receipts.isEmpty && po.ledgerEntries == 0)

            let entered = try floor.record("order", "enter", "PO-1")
            #expect(entered.status == "Entered" && entered.action == "enter" && entered.entries == 4)
            #expect(
                lines(try floor.ledger("--ref", "PO-1"), of: entered.operation)
                    == ["ORDER CHAIR 10", "DEMAND BOLT 60", "DEMAND PAINT 2", "DEMAND STEEL 25"])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 150, on_order 0, demand 25, allocated 0, available 150, projected 125, value 330")
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 0, on_order 10, demand 0, allocated 0, available 0, projected 10, value 0")
            po = try floor.order("PO-1")
            #expect(
                po.inputs.map(\.figures) == [
                    "BOLT required 60 demand 60 allocated 0 consumed 0",
                    "PAINT required 2 demand 2 allocated 0 consumed 0",
                    "STEEL required 25 demand 25 allocated 0 consumed 0",
                ])

            let started = try floor.record("order", "start", "PO-1")
            #expect(started.status == "Production" && started.entries == 3)
            #expect(
                lines(try floor.ledger("--ref", "PO-1"), of: started.operation)
                    == ["ALLOCATE BOLT 60", "ALLOCATE PAINT 2", "ALLOCATE STEEL 25"])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 150, on_order 0, demand 0, allocated 25, available 125, projected 125, value 330")

            // First receipt: 4 chairs. Materials at their weighted average; the chair at 12.00 + 9.10 material.
            let first = try floor.record("receipt", "add", "PO-1", "CHAIR=4")
            #expect(first.status == "Production" && first.number == "PO-1" && first.entries == 4)
            #expect(first.receipt == "RC-\(created.replica)-16", "default receipt id")
            #expect(
                lines(try floor.ledger("--ref", "PO-1"), of: first.operation) == [
                    "CONSUME BOLT -24 @0.1 = -2.4", "CONSUME PAINT -0.8 @15 = -12", "CONSUME STEEL -10 @2.2 = -22",
                    "PRODUCE CHAIR 4 @21.1 = 84.4",
                ])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 140, on_order 0, demand 0, allocated 15, available 125, projected 125, value 308")
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 4, on_order 6, demand 0, allocated 0, available 4, projected 10, value 84.4")
            #expect(
                try floor.position("BOLT").figures
                    == "on_hand 976, on_order 0, demand 0, allocated 36, available 940, projected 940, value 97.6")
            #expect(
                try floor.position("PAINT").figures
                    == "on_hand 19.2, on_order 0, demand 0, allocated 1.2, available 18, projected 18, value 288")
            po = try floor.order("PO-1")
            #expect(po.status == "Production")
            #expect(
                po.lines.map { "\($0.sku) \($0.produced)/\($0.ordered) on order \($0.onOrder)" } == [
                    "CHAIR 4/10 on order 6"
                ])
            #expect(
                po.inputs.map(\.figures) == [
                    "BOLT required 60 demand 0 allocated 36 consumed 24",
                    "PAINT required 2 demand 0 allocated 1.2 consumed 0.8",
                    "STEEL required 25 demand 0 allocated 15 consumed 10",
                ])
            #expect(
                po.receipts.map { "\($0.id) \($0.voided) \($0.lines.map { "\($0.sku)=\($0.quantity)" })" }
                    == ["\(first.receipt ?? "?") false [\"CHAIR=4\"]"])

            // A purchase at 3.00 moves STEEL's average from 2.20 to 2.44.
            let purchase = try floor.record(
                "stock", "adjust", "STEEL", "60", "--location", "PLANT", "--unit-cost", "3.00")
            #expect(purchase.entries == 1)
            #expect(lines(try floor.ledger("--sku", "STEEL"), of: purchase.operation) == ["ADJUST STEEL 60 @3 = 180"])
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 200, on_order 0, demand 0, allocated 15, available 185, projected 185, value 488")

            // Second receipt completes the order: the remainder at the new average; the chair at 12.00 + 9.70.
            let second = try floor.record("receipt", "add", "PO-1", "CHAIR=6")
            #expect(second.status == "Received" && second.entries == 4)
            let ledger = try floor.ledger("--ref", "PO-1")
            #expect(
                lines(ledger, of: second.operation) == [
                    "CONSUME BOLT -36 @0.1 = -3.6", "CONSUME PAINT -1.2 @15 = -18", "CONSUME STEEL -15 @2.44 = -36.6",
                    "PRODUCE CHAIR 6 @21.7 = 130.2",
                ])
            #expect(
                ledger.map(\.line) == [
                    "ORDER CHAIR 10", "DEMAND BOLT 60", "DEMAND PAINT 2", "DEMAND STEEL 25",
                    "ALLOCATE BOLT 60", "ALLOCATE PAINT 2", "ALLOCATE STEEL 25",
                    "CONSUME BOLT -24 @0.1 = -2.4", "CONSUME PAINT -0.8 @15 = -12", "CONSUME STEEL -10 @2.2 = -22",
                    "PRODUCE CHAIR 4 @21.1 = 84.4",
                    "CONSUME BOLT -36 @0.1 = -3.6", "CONSUME PAINT -1.2 @15 = -18", "CONSUME STEEL -15 @2.44 = -36.6",
                    "PRODUCE CHAIR 6 @21.7 = 130.2",
                ])
            #expect(ledger.allSatisfy { $0.ref == "PO-1" && $0.location == "PLANT" })
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 10, on_order 0, demand 0, allocated 0, available 10, projected 10, value 214.6")
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 185, on_order 0, demand 0, allocated 0, available 185, projected 185, value 451.4")
            #expect(
                try floor.position("BOLT").figures
                    == "on_hand 940, on_order 0, demand 0, allocated 0, available 940, projected 940, value 94")
            #expect(
                try floor.position("PAINT").figures
                    == "on_hand 18, on_order 0, demand 0, allocated 0, available 18, projected 18, value 270")
            po = try floor.order("PO-1")
            #expect(po.status == "Received" && po.ledgerEntries == 15)
            #expect(po.allowedEvents == ["receive", "void-receipt", "complete"])
            #expect(
                po.lines.map { "\($0.sku) \($0.produced)/\($0.ordered) on order \($0.onOrder)" } == [
                    "CHAIR 10/10 on order 0"
                ])
            #expect(
                po.inputs.map(\.figures) == [
                    "BOLT required 60 demand 0 allocated 0 consumed 60",
                    "PAINT required 2 demand 0 allocated 0 consumed 2",
                    "STEEL required 25 demand 0 allocated 0 consumed 25",
                ])

            // WO-1: a work order; conversion cost only, one-level inputs (FRAME stays a component).
            try floor.record(
                "order", "create", "--kind", "work", "--number", "WO-1", "--location", "PLANT", "--output",
                "CHAIR=5@3.00")
            try floor.record("stock", "adjust", "FRAME", "5", "--location", "PLANT", "--unit-cost", "11.00")
            let workEntered = try floor.record("order", "enter", "WO-1")
            #expect(
                lines(try floor.ledger("--ref", "WO-1"), of: workEntered.operation)
                    == ["ORDER CHAIR 5", "DEMAND BOLT 10", "DEMAND FRAME 5", "DEMAND PAINT 1"])
            #expect(try floor.record("order", "start", "WO-1").status == "Production")
            let work = try floor.record("receipt", "add", "WO-1", "CHAIR=5")
            #expect(work.status == "Received")
            #expect(
                lines(try floor.ledger("--ref", "WO-1"), of: work.operation) == [
                    "CONSUME BOLT -10 @0.1 = -1", "CONSUME FRAME -5 @11 = -55", "CONSUME PAINT -1 @15 = -15",
                    "PRODUCE CHAIR 5 @3 = 15",
                ])
            #expect(
                try floor.position("CHAIR").figures
                    == "on_hand 15, on_order 0, demand 0, allocated 0, available 15, projected 15, value 229.6")
            #expect(
                try floor.position("BOLT").figures
                    == "on_hand 930, on_order 0, demand 0, allocated 0, available 930, projected 930, value 93")
            #expect(
                try floor.position("PAINT").figures
                    == "on_hand 17, on_order 0, demand 0, allocated 0, available 17, projected 17, value 255")
            #expect(
                try floor.position("FRAME").figures
                    == "on_hand 0, on_order 0, demand 0, allocated 0, available 0, projected 0, value 0")
            #expect(
                try floor.position("STEEL").figures
                    == "on_hand 185, on_order 0, demand 0, allocated 0, available 185, projected 185, value 451.4")

            let orders = try floor.json([OrderSummaryJSON].self, ["order", "list"])
            #expect(
                orders.map { "\($0.number) \($0.kind) \($0.status)" } == [
                    "PO-1 production Received", "WO-1 work Received",
                ])

            // Every position is the fold of its ledger entries; the projections equal a rebuild from the log.
            try floor.expectPositionsMatchLedger()
            let digest = try floor.digest()
            #expect(digest.operations == 23)
            let rebuilt = try floor.json(RebuildJSON.self, ["rebuild"])
            #expect(rebuilt.equal && rebuilt.before == digest.digest && rebuilt.after == digest.digest)
            #expect(rebuilt.operations == 23)
        }

        /// The database path: `--db` (before the subcommand) wins over `$SHOPFLOOR_DB`; with neither, the sandbox's
        /// `./shopfloor.sqlite`.
        @Test func databasePathFromFlagEnvironmentOrDefault() throws {
            let floor = try CLISandbox("db-path", database: .flag)
            let other = floor.path("other.sqlite")
            _ = try floor.json(InitJSON.self, ["init", "--name", "flag"])
            try floor.record("location", "add", "PLANT")
            // $SHOPFLOOR_DB names another file; --db wins.
            let both = try floor.run(["--json", "digest"], environment: ["SHOPFLOOR_DB": other])
            #expect(both.status == 0, "\(both)")
            #expect(try both.decode(DigestJSON.self).operations == 1)
            #expect(!FileManager.default.fileExists(atPath: other))
            // Only the environment.
            let fromEnvironment = try floor.run(["digest", "--json"], database: .environment)
            #expect(try fromEnvironment.decode(DigestJSON.self).operations == 1)
            // Neither: ./shopfloor.sqlite in the working directory.
            let created = try floor.run(
                ["init", "--name", "default", "--json"], database: CLISandbox.DatabaseOption.none)
            #expect(created.status == 0, "\(created)")
            #expect(FileManager.default.fileExists(atPath: floor.path("shopfloor.sqlite")))
            let defaultDigest = try floor.run(["digest", "--json"], database: CLISandbox.DatabaseOption.none)
            #expect(try defaultDigest.decode(DigestJSON.self) == DigestJSON(digest: Self.emptyDigest, operations: 0))
        }

        /// SHA-256 of nothing: the digest of a replica with no projections.
        static let emptyDigest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    }
}
