import Foundation
import Testing

extension CLIProcessTests {
    /// Refused operations exit 1 with a message naming the problem on stderr; usage errors exit 2; neither changes
    /// the replica (`digest --json`: digest and operation count).
    @Suite struct RefusalTests {
        struct Case: CustomStringConvertible {
            var name: String
            var arguments: [String]
            /// Every one of these must appear in standard error.
            var mentions: [String]
            var description: String { name }
        }

        /// A replica with the worked catalog, PLANT and WH, PO-1 fully received (Received), PO-2 in Production with
        /// no unit cost, PO-3 in Draft.
        static func preparedFloor() throws -> CLISandbox {
            let floor = try CLISandbox("refusals")
            _ = try floor.json(InitJSON.self, ["init", "--name", "refusals"])
            try floor.seedWorkedCatalog()
            try floor.record("location", "add", "WH", "--name", "Warehouse")
            try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-1", "--location", "PLANT", "--output",
                "CHAIR=10@12.00")
            try floor.record("order", "enter", "PO-1")
            try floor.record("order", "start", "PO-1")
            try floor.record("receipt", "add", "PO-1", "CHAIR=4", "--id", "R-1")
            #expect(try floor.record("receipt", "add", "PO-1", "CHAIR=6", "--id", "R-2").status == "Received")
            try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-2", "--location", "PLANT", "--output",
                "CHAIR=2")
            try floor.record("order", "enter", "PO-2")
            #expect(try floor.record("order", "start", "PO-2").status == "Production")
            try floor.record(
                "order", "create", "--kind", "work", "--number", "PO-3", "--location", "PLANT", "--output", "CHAIR=1@1")
            #expect(try floor.order("PO-3").status == "Draft")
            return floor
        }

        static let refusals: [Case] = [
            Case(
                name: "unknown SKU",
                arguments: ["stock", "adjust", "NOPE", "5", "--location", "PLANT", "--unit-cost", "1"],
                mentions: ["unknown SKU 'NOPE'", "hint: add it with `shopfloor item add NOPE --kind"]),
            Case(
                name: "unknown location",
                arguments: ["stock", "adjust", "STEEL", "5", "--location", "MOON", "--unit-cost", "1"],
                mentions: ["unknown location 'MOON'"]),
            Case(
                name: "duplicate item", arguments: ["item", "add", "STEEL", "--kind", "material"],
                mentions: ["SKU 'STEEL' already exists"]),
            Case(
                name: "BOM cycle", arguments: ["bom", "set", "FRAME", "CHAIR=1"],
                mentions: ["BOM cycle", "FRAME → CHAIR → FRAME"]),
            Case(
                name: "cancel a Received order", arguments: ["order", "cancel", "PO-1"],
                mentions: ["order 'PO-1'", "void"]),
            Case(
                name: "receipt over tolerance", arguments: ["receipt", "add", "PO-1", "CHAIR=1"],
                mentions: ["'CHAIR'", "'PO-1'", "exceeds ordered 10"]),
            Case(
                name: "receipt with no unit cost", arguments: ["receipt", "add", "PO-2", "CHAIR=1"],
                mentions: ["order 'PO-2' has no unit cost for 'CHAIR'"]),
            Case(
                name: "transfer to the same location",
                arguments: ["stock", "transfer", "STEEL", "1", "--from", "PLANT", "--to", "PLANT"],
                mentions: ["two different locations", "'PLANT'"]),
            Case(
                name: "start a Draft order", arguments: ["order", "start", "PO-3"],
                mentions: ["order 'PO-3' is Draft: cannot start"]),
            Case(
                name: "void an unknown receipt", arguments: ["receipt", "void", "RC-NOPE"],
                mentions: ["unknown receipt 'RC-NOPE'"]),
            Case(
                name: "receipt id already used", arguments: ["receipt", "add", "PO-2", "CHAIR=1", "--id", "R-1"],
                mentions: ["receipt id 'R-1' is already used"]),
            Case(
                name: "duplicate order number",
                arguments: [
                    "order", "create", "--kind", "work", "--number", "PO-1", "--location", "PLANT", "--output",
                    "CHAIR=1",
                ],
                mentions: ["order number 'PO-1' is already used", "hint: choose another --number"]),
            Case(
                name: "unknown order", arguments: ["order", "enter", "PO-404"], mentions: ["unknown order 'PO-404'"]),
            Case(
                name: "a material cannot be an order output",
                arguments: ["order", "create", "--kind", "work", "--location", "PLANT", "--output", "STEEL=1@1"],
                mentions: ["'STEEL' is a material"]),
            Case(
                name: "init over an existing replica", arguments: ["init", "--name", "again"],
                mentions: ["already holds a replica"]),
        ]

        static let usageErrors: [Case] = [
            Case(
                name: "bad number", arguments: ["stock", "adjust", "STEEL", "abc", "--location", "PLANT"],
                mentions: ["'abc'", "not a decimal number"]),
            Case(
                name: "more than six decimals",
                arguments: ["stock", "adjust", "STEEL", "1.0000001", "--location", "PLANT", "--unit-cost", "1"],
                mentions: ["1.0000001"]),
            Case(
                name: "unknown option", arguments: ["stock", "--frobnicate"],
                mentions: ["Unknown option '--frobnicate'"]),
            Case(
                name: "bad SKU=QTY", arguments: ["receipt", "add", "PO-2", "CHAIR"], mentions: ["'CHAIR'", "SKU=QTY"]),
            Case(
                name: "bad quantity in SKU=QTY", arguments: ["bom", "set", "CHAIR", "FRAME=one"],
                mentions: ["FRAME=one"]),
            Case(
                name: "bad --kind",
                arguments: ["order", "create", "--kind", "bogus", "--location", "PLANT", "--output", "CHAIR=1@1"],
                mentions: ["order kind 'bogus'", "work, production"]),
            Case(
                name: "bad item kind", arguments: ["item", "add", "X1", "--kind", "gadget"], mentions: ["kind 'gadget'"]
            ),
            Case(
                name: "bad date", arguments: ["receipt", "add", "PO-2", "CHAIR=1", "--date", "2026-13-45"],
                mentions: ["2026-13-45"]),
            Case(name: "missing argument", arguments: ["order", "enter"], mentions: ["<number>"]),
            Case(name: "unknown subcommand", arguments: ["order", "explode", "PO-1"], mentions: ["explode"]),
        ]

        @Test func refusedCommandsExitOneAndChangeNothing() throws {
            let floor = try Self.preparedFloor()
            // CSVs: a bad item kind on line 3 (line 2 is valid), a duplicate SKU on line 3, a BOM cycle closed on line 3.
            let badKind = try floor.write(
                "bad-kind.csv", "sku,kind,unit,name\nA1,material,kg,Alpha\nA2,gadget,kg,Beta\nA3,material,kg,Gamma\n")
            let duplicate = try floor.write(
                "duplicate.csv", "sku,kind,unit,name\nB1,material,kg,One\nSTEEL,material,kg,Steel again\n")
            let cycle = try floor.write("cycle.csv", "parent,child,quantity\nFRAME,STEEL,2.5\nFRAME,CHAIR,1\n")
            let imports = [
                Case(
                    name: "import items with a bad kind on line 3", arguments: ["import", "items", badKind],
                    mentions: ["line 3", "gadget", "nothing was imported"]),
                Case(
                    name: "import items with a duplicate SKU on line 3", arguments: ["import", "items", duplicate],
                    mentions: ["line 3", "SKU 'STEEL' already exists", "nothing was imported"]),
                Case(
                    name: "import a BOM that closes a cycle on line 3", arguments: ["import", "bom", cycle],
                    mentions: ["line 3", "BOM cycle", "nothing was imported"]),
                Case(
                    name: "import a missing file", arguments: ["import", "items", floor.path("missing.csv")],
                    mentions: ["missing.csv"]),
            ]

            let before = try floor.digest()
            #expect(before.operations == 22)
            for refusal in Self.refusals + imports {
                let result = try floor.run(refusal.arguments)
                #expect(result.status == 1 && !result.signaled, "\(refusal): \(result)")
                #expect(result.stdout.isEmpty, "\(refusal) printed to stdout: \(result)")
                #expect(result.stderr.hasPrefix("error: "), "\(refusal): \(result)")
                for mention in refusal.mentions {
                    #expect(result.stderr.contains(mention), "\(refusal): stderr should mention \(mention): \(result)")
                }
                #expect(try floor.digest() == before, "\(refusal) changed the replica")
            }
            // The valid row before the bad one was not imported either: A1 is still unknown.
            let probe = try floor.run(["stock", "adjust", "A1", "1", "--location", "PLANT", "--unit-cost", "1"])
            #expect(probe.status == 1 && probe.stderr.contains("unknown SKU 'A1'"), "\(probe)")
            #expect(try floor.digest() == before)
        }

        @Test func usageErrorsExitTwoAndChangeNothing() throws {
            let floor = try CLISandbox("usage")
            _ = try floor.json(InitJSON.self, ["init", "--name", "usage"])
            try floor.seedWorkedCatalog()
            try floor.record(
                "order", "create", "--kind", "production", "--number", "PO-2", "--location", "PLANT", "--output",
                "CHAIR=2")
            let before = try floor.digest()
            for usage in Self.usageErrors {
                let result = try floor.run(usage.arguments)
                #expect(result.status == 2 && !result.signaled, "\(usage): \(result)")
                #expect(result.stdout.isEmpty, "\(usage) printed to stdout: \(result)")
                for mention in usage.mentions {
                    #expect(result.stderr.contains(mention), "\(usage): stderr should mention \(mention): \(result)")
                }
                #expect(try floor.digest() == before, "\(usage) changed the replica")
            }
        }

        @Test func missingDatabaseIsRefusedAndNotCreated() throws {
            let floor = try CLISandbox("missing")
            for arguments in [["digest"], ["stock"], ["location", "add", "PLANT"]] {
                let result = try floor.run(arguments)
                #expect(result.status == 1, "\(result)")
                #expect(result.stderr.contains("no replica at '\(floor.databasePath)'"), "\(result)")
                #expect(
                    !FileManager.default.fileExists(atPath: floor.databasePath), "\(arguments) created the database")
            }
        }

        @Test func helpExitsZero() throws {
            let floor = try CLISandbox("help")
            let root = try floor.run(["--help"])
            #expect(root.status == 0, "\(root)")
            #expect(root.stdout.contains("USAGE: shopfloor"), "\(root)")
            for subcommand in ["init", "stock", "order", "receipt", "ledger", "digest", "rebuild", "import"] {
                #expect(root.stdout.contains(subcommand), "--help should list \(subcommand)")
            }
            let leaf = try floor.run(["stock", "adjust", "--help"])
            #expect(leaf.status == 0 && leaf.stdout.contains("--unit-cost"), "\(leaf)")
            let nested = try floor.run(["help", "order", "create"])
            #expect(nested.status == 0 && nested.stdout.contains("--output"), "\(nested)")
            #expect(!FileManager.default.fileExists(atPath: floor.databasePath), "help touched the database")
        }
    }
}
