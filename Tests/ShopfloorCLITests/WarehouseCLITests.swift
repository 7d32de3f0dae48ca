import Foundation
import Testing

extension CLIProcessTests {
    /// The README's floor flow through the `shopfloor` binary: an order with its own WIP and FG warehouses on the
    /// `transferred` basis, Make Transfer from the stores, a back flush that scraps, and the exact rest.
    @Suite struct WarehouseCLITests {
        struct StagedOrder: Decodable {
            struct Input: Decodable {
                var sku: String
                var required: String
                var transferred: String
                var consumed: String
                var scrapped: String
            }
            var wip: String
            var fg: String
            var backflush: String
            var status: String
            var inputs: [Input]
        }

        @Test func storesToWIPToFinishedGoodsWithScrap() throws {
            let floor = try CLISandbox("warehouses")
            try floor.ok("init", "--name", "floor-1")
            for code in ["STORES", "PLANT", "WIP", "FG"] { try floor.record("location", "add", code) }
            try floor.record("item", "add", "STEEL", "--kind", "material", "--unit", "kg")
            try floor.record("item", "add", "BOLT", "--kind", "material")
            try floor.record("item", "add", "FRAME", "--kind", "product")
            try floor.record("bom", "set", "FRAME", "STEEL=2.5", "BOLT=4")
            try floor.record("stock", "adjust", "STEEL", "150", "--location", "STORES", "--unit-cost", "2.2")
            try floor.record("stock", "adjust", "BOLT", "1000", "--location", "STORES", "--unit-cost", "0.10")
            try floor.record(
                "order", "create", "--kind", "production", "--location", "PLANT", "--wip", "WIP", "--fg", "FG",
                "--backflush", "transferred", "--number", "PO-7", "--output", "FRAME=10@5")
            try floor.record("order", "enter", "PO-7")
            try floor.record("order", "start", "PO-7")
            #expect(try floor.position("STEEL", at: "WIP").allocated == "25")
            #expect(try floor.position("FRAME", at: "FG").onOrder == "10")

            // Without lines, Make Transfer moves what the order still needs; a second one adds spares.
            try floor.record("order", "transfer", "PO-7", "--from", "STORES")
            try floor.record("order", "transfer", "PO-7", "--from", "STORES", "STEEL=2", "BOLT=1")
            let nothing = try floor.run(["order", "transfer", "PO-7", "--from", "STORES"])
            #expect(nothing.status == 1)
            #expect(nothing.stderr.contains("needs nothing more"))
            #expect(try floor.position("STEEL", at: "WIP").figures.hasPrefix("on_hand 27,"))
            let transfers = try floor.ledger("--ref", "PO-7").filter { $0.event == "TRANSFER" }
            #expect(transfers.count == 8)

            try floor.record("receipt", "add", "PO-7", "FRAME=4", "--scrap", "STEEL=1", "--id", "R-1")
            try floor.record("receipt", "add", "PO-7", "FRAME=6", "--id", "R-2")
            let lines = try floor.ledger("--ref", "PO-7").filter { ["SCRAP", "CONSUME", "PRODUCE"].contains($0.event) }
                .map(\.line)
            #expect(
                lines == [
                    "SCRAP STEEL -1 @2.2 = -2.2", "CONSUME BOLT -16.4 @0.1 = -1.64",
                    "CONSUME STEEL -10.4 @2.2 = -22.88",
                    "PRODUCE FRAME 4 @11.68 = 46.72", "CONSUME BOLT -24.6 @0.1 = -2.46",
                    "CONSUME STEEL -15.6 @2.2 = -34.32", "PRODUCE FRAME 6 @11.13 = 66.78",
                ])
            try floor.record("order", "complete", "PO-7")
            let order = try floor.json(StagedOrder.self, ["order", "show", "PO-7"])
            #expect((order.wip, order.fg, order.backflush, order.status) == ("WIP", "FG", "transferred", "Completed"))
            #expect(
                order.inputs.map { "\($0.sku) \($0.required) \($0.transferred) \($0.consumed) \($0.scrapped)" }
                    == ["BOLT 40 41 41 0", "STEEL 25 27 26 1"])
            #expect(try floor.position("FRAME", at: "FG").figures.hasSuffix("value 113.5"))
            #expect(try floor.position("STEEL", at: "WIP").figures.hasPrefix("on_hand 0,"))
            #expect(try floor.position("BOLT", at: "WIP").figures.hasSuffix("value 0"))
            let shown = try floor.ok("order", "show", "PO-7").stdout
            #expect(shown.contains("TRANSFERRED") && shown.contains("SCRAPPED"))
            #expect(shown.contains("WIP WIP, FG FG"))
        }

        /// The plant default: new orders take it unless they name a basis; orders made before keep theirs.
        @Test func thePlantDefaultBasis() throws {
            struct Defaults: Decodable { var backflush: String }
            let floor = try CLISandbox("plant-default")
            try floor.ok("init", "--name", "floor-1")
            try floor.record("location", "add", "PLANT")
            try floor.record("item", "add", "STEEL", "--kind", "material")
            try floor.record("item", "add", "FRAME", "--kind", "product")
            try floor.record("bom", "set", "FRAME", "STEEL=2.5")
            #expect(try floor.json(Defaults.self, ["plant", "show"]).backflush == "bom")
            try floor.record(
                "order", "create", "--kind", "work", "--location", "PLANT", "--number", "WO-1", "--output", "FRAME=1")
            try floor.record("plant", "set", "--backflush", "transferred")
            #expect(try floor.json(Defaults.self, ["plant", "show"]).backflush == "transferred")
            try floor.record(
                "order", "create", "--kind", "work", "--location", "PLANT", "--number", "WO-2", "--output", "FRAME=1")
            try floor.record(
                "order", "create", "--kind", "work", "--location", "PLANT", "--number", "WO-3", "--backflush", "bom",
                "--output", "FRAME=1")
            let bases = try ["WO-1", "WO-2", "WO-3"].map {
                try floor.json(StagedOrder.self, ["order", "show", $0]).backflush
            }
            #expect(bases == ["bom", "transferred", "bom"])
            let wrong = try floor.run(["plant", "set", "--backflush", "fifo"])
            #expect(wrong.status == 2)
        }
    }
}
