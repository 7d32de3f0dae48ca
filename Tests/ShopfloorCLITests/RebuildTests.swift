import Foundation
import ShopfloorStore
import Testing

extension CLIProcessTests {
    /// A long seeded random session through the binary; afterwards the incremental projections equal a rebuild from
    /// the log.
    @Suite struct RebuildTests {
        /// What the test knows of the session, enough to make most commands plausible (refusals are allowed).
        struct Session {
            var rng: SeededGenerator
            var locations = ["PLANT", "WH"]
            var stocked = ["STEEL", "BOLT", "PAINT", "FRAME"]
            var products = ["CHAIR", "TABLE"]
            struct OrderModel {
                var number: String
                /// The last status the CLI reported ("Draft" when created).
                var status: String
                var product: String
                var costed: Bool
            }

            var orders: [OrderModel] = []
            var receipts: [String] = []
            var counter = 0

            init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

            mutating func pick<T>(_ values: [T]) -> T { values.randomElement(using: &rng)! }
            mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
            mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
            mutating func next() -> Int {
                counter += 1
                return counter
            }

            /// A decimal with up to two fractional digits.
            mutating func decimal(_ range: ClosedRange<Int>) -> String {
                let cents = int(range)
                let (whole, fraction) = (cents / 100, cents % 100)
                return fraction == 0 ? "\(whole)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
            }

            /// An order, mostly one of the three newest in `statuses` (and, when `costed`, with a unit cost), so
            /// orders tend to go through their lifecycle; sometimes any order (often refused).
            mutating func order(preferring statuses: [String], costed: Bool = false) -> OrderModel? {
                guard !orders.isEmpty else { return nil }
                let preferred = orders.filter { statuses.contains($0.status) && (!costed || $0.costed) }.suffix(3)
                if !preferred.isEmpty, chance(85) { return pick(Array(preferred)) }
                if preferred.isEmpty, chance(60) { return nil }
                return pick(orders)
            }

            /// The next command (without `--json`); nil when nothing fits (the caller draws again).
            mutating func command(floor: CLISandbox) throws -> [String]? {
                switch int(0...99) {
                case 0..<14:
                    let sku = pick(stocked)
                    if chance(80) {
                        return [
                            "stock", "adjust", sku, decimal(100...5000), "--location", pick(locations), "--unit-cost",
                            decimal(1...2500),
                        ]
                    }
                    return ["stock", "adjust", sku, "--location", pick(locations), "--", "-" + decimal(100...3000)]
                case 14..<18:
                    return [
                        "stock", "transfer", pick(stocked), decimal(100...2000), "--from", pick(locations), "--to",
                        pick(locations),
                    ]
                case 18..<26:
                    var arguments = [
                        "order", "create", "--kind", chance(50) ? "work" : "production", "--location", pick(locations),
                    ]
                    if chance(80) { arguments += ["--number", "O-\(next())"] }
                    if chance(20) { arguments += ["--tolerance", "10"] }
                    if chance(20) { arguments += ["--due", "2026-12-\(10 + int(0...18))"] }
                    let product = pick(products)
                    arguments += [
                        "--output",
                        chance(75) ? "\(product)=\(int(1...12))@\(decimal(100...3000))" : "\(product)=\(int(1...12))",
                    ]
                    return arguments
                case 26..<34:
                    return order(preferring: ["Draft"]).map { ["order", "enter", $0.number] }
                case 34..<42:
                    return order(preferring: ["Entered"]).map { ["order", "start", $0.number] }
                case 42..<64:
                    guard let order = order(preferring: ["Production"], costed: true) else { return nil }
                    let product = chance(90) ? order.product : pick(products)
                    var arguments = ["receipt", "add", order.number, "\(product)=\(int(1...4))", "--id", "R-\(next())"]
                    if chance(25) { arguments += ["--date", "2026-11-\(10 + int(0...19))"] }
                    return arguments
                case 64..<68:
                    guard !receipts.isEmpty else { return nil }
                    return ["receipt", "void", chance(90) ? pick(receipts) : "R-NONE"]
                case 68..<71:
                    return order(preferring: ["Production", "Received", "Entered"]).map {
                        ["order", "complete", $0.number]
                    }
                case 71..<73:
                    return order(preferring: ["Draft", "Entered"]).map { ["order", "cancel", $0.number] }
                case 73..<80:
                    return order(preferring: ["Draft", "Entered", "Production"]).map {
                        ["order", "set-cost", $0.number, $0.product, decimal(100...4000)]
                    }
                case 80..<83:
                    return order(preferring: ["Draft", "Entered", "Production"]).map {
                        [
                            "order", "edit", $0.number, "--notes", "note \(next())", "--tolerance",
                            pick(["0", "5", "50"]),
                        ]
                    }
                case 83..<88:
                    if chance(15) { return ["bom", "set", "FRAME", "TABLE=1"] }  // a cycle: refused
                    return chance(50)
                        ? ["bom", "set", "CHAIR", "FRAME=1", "BOLT=\(int(1...4))", "PAINT=0.\(int(1...4))"]
                        : ["bom", "set", "TABLE", "FRAME=\(int(1...3))", "STEEL=\(decimal(50...300))", "PAINT=0.35"]
                case 88..<92:
                    let sku = "M\(next())"
                    stocked.append(sku)
                    return ["item", "add", sku, "--kind", "material", "--unit", "kg"]
                case 92..<97:
                    let (first, second) = ("M\(next())", "M\(next())")
                    stocked += [first, second]
                    let file = try floor.write(
                        "items-\(counter).csv",
                        "sku,kind,unit,name\n\(first),material,kg,First\n\(second),material,l,\"Second, liquid\"\n")
                    return ["import", "items", file]
                default:
                    let code = "L\(next())"
                    locations.append(code)
                    return ["location", "add", code]
                }
            }

            mutating func learn(_ arguments: [String], _ result: CLIResult) throws {
                guard arguments.count >= 2 else { return }
                switch (arguments[0], arguments[1]) {
                case ("order", "create"):
                    let confirmation = try result.decode(ConfirmationJSON.self)
                    let output = arguments[arguments.count - 1]  // --output SKU=QTY[@COST] comes last
                    let product = String(output.prefix { $0 != "=" })
                    orders.append(
                        OrderModel(
                            number: confirmation.number ?? "?", status: "Draft", product: product,
                            costed: output.contains("@")))
                case ("order", "set-cost"):
                    if let index = orders.firstIndex(where: { $0.number == arguments[2] }) {
                        orders[index].costed = true
                    }
                case ("order", "enter"), ("order", "start"), ("order", "complete"), ("order", "cancel"),
                    ("receipt", "add"):
                    let confirmation = try result.decode(ConfirmationJSON.self)
                    if let index = orders.firstIndex(where: { $0.number == confirmation.number }),
                        let status = confirmation.status
                    {
                        orders[index].status = status
                    }
                    if arguments[0] == "receipt", let receipt = confirmation.receipt { receipts.append(receipt) }
                default:
                    break
                }
            }
        }

        @Test func randomSessionEqualsRebuild() throws {
            let floor = try CLISandbox("rebuild")
            _ = try floor.json(InitJSON.self, ["init", "--name", "random"])
            try floor.seedWorkedCatalog()
            try floor.record("location", "add", "WH")
            try floor.record("item", "add", "TABLE", "--kind", "product")
            try floor.record("bom", "set", "TABLE", "FRAME=2", "STEEL=1.5", "PAINT=0.35")
            try floor.record("stock", "adjust", "FRAME", "40", "--location", "PLANT", "--unit-cost", "11.00")
            var expectedOperations = 16
            var expectedEntries = 5  // the five opening adjustments
            #expect(try floor.digest().operations == expectedOperations)

            var session = Session(seed: 0x5EED_0F_F100)
            var succeeded = 0
            var refused = 0
            let steps = 135
            var step = 0
            while step < steps {
                guard let arguments = try session.command(floor: floor) else { continue }
                step += 1
                let result = try floor.run(CLISandbox.withJSON(arguments))
                #expect(!result.signaled && (result.status == 0 || result.status == 1), "step \(step): \(result)")
                if CLIProcessTests.verbose {
                    print("step \(step): exit \(result.status) \(arguments.joined(separator: " ")) \(result.stderr)")
                }
                if result.status == 0 {
                    succeeded += 1
                    if arguments[0] == "import" {
                        let imported = try result.decode(ImportJSON.self)
                        #expect(imported.imported == 2, "\(result)")
                        expectedOperations += imported.imported
                    } else {
                        expectedOperations += 1
                        expectedEntries += try result.decode(ConfirmationJSON.self).entries
                    }
                    try session.learn(arguments, result)
                } else if result.status == 1 {
                    refused += 1
                    #expect(result.stdout.isEmpty && result.stderr.hasPrefix("error: "), "step \(step): \(result)")
                }
            }
            #expect(succeeded + refused == steps)
            #expect(succeeded >= steps / 2, "the session should mostly succeed: \(succeeded) of \(steps)")
            #expect(refused > 0, "the session should include refusals")
            #expect(session.receipts.count > 5, "the session should include receipts")

            // Only accepted commands were recorded; every ledger entry a confirmation announced is in the ledger.
            let incremental = try floor.digest()
            #expect(incremental.operations == expectedOperations)
            #expect(try floor.ledger().count == expectedEntries)
            try floor.expectPositionsMatchLedger()

            let rebuilt = try floor.json(RebuildJSON.self, ["rebuild"])
            #expect(rebuilt.equal, "rebuild found drifted projections: \(rebuilt.before) → \(rebuilt.after)")
            #expect(rebuilt.before == incremental.digest && rebuilt.after == incremental.digest)
            #expect(rebuilt.operations == expectedOperations)
            #expect(try floor.digest() == incremental)

            // The store agrees in-process: integrity, digest, count, and its own rebuild.
            let replica = try Replica.openQuietly(at: floor.databasePath)
            #expect(try replica.integrityCheck() == "ok")
            #expect(try replica.digest() == incremental.digest)
            #expect(replica.operationCount == expectedOperations)
            try replica.rebuild()
            #expect(try replica.digest() == incremental.digest)
        }
    }
}
