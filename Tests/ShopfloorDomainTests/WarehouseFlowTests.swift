import Testing

@testable import ShopfloorDomain

/// ERPNext's floor flow: an order with its own WIP and FG warehouses, Make Transfer from the stores into WIP, then
/// partial back flushes (receipts) that consume at WIP and produce into FG. Checked to the cent.
@Suite struct WarehouseFlowTests {
    /// STEEL 150 at 330.00 (rate 2.2) and BOLT 1000 at 100.00 in STORES; FRAME = 2.5 STEEL + 4 BOLT.
    func stores() throws -> ShopDriver {
        var driver = ShopDriver()
        try driver.run([
            .location("STORES"), .location("PLANT"), .location("WIP"), .location("FG"),
            .item("STEEL", .material), .item("BOLT", .material), .item("FRAME", .product),
            .bom("FRAME", [("STEEL", "2.5"), ("BOLT", "4")]),
            .adjust("STEEL", "STORES", "100", cost: "2.00"), .adjust("STEEL", "STORES", "50", cost: "2.60"),
            .adjust("BOLT", "STORES", "1000", cost: "0.10"),
        ])
        return driver
    }

    static func order(wip: String? = "WIP", fg: String? = "FG") -> Command {
        .createOrder(
            CreateOrder(
                number: "PO-1", kind: .production, location: "PLANT",
                outputs: [OutputSpec(sku: "FRAME", quantity: 10, unitCost: amt("5.00"))], wip: wip, fg: fg))
    }

    static func transfer(_ lines: [(String, String)], from: String = "STORES") -> Command {
        .transferToOrder(
            OrderTransfer(
                order: "PO-1", from: from, lines: lines.map { BOMLine(sku: SKU($0.0), quantity: amt($0.1)) }))
    }

    @Test func storesToWIPToFinishedGoods() throws {
        var driver = try stores()
        try driver.run([Self.order(), .enter("PO-1"), .start("PO-1")])
        // Commitments sit where things will happen: ORDER at FG, DEMAND then ALLOCATE at WIP.
        #expect(driver.position("FRAME", "FG").onOrder == 10)
        #expect(driver.position("STEEL", "WIP").allocated == 25)
        #expect(driver.position("BOLT", "WIP").allocated == 40)
        #expect(driver.position("STEEL", "PLANT") == Position(sku: "STEEL", location: "PLANT"))

        // Make Transfer: what the order needs, at the stores' moving average (2.2 a kg, 0.10 a bolt).
        let moved = try driver.run(Self.transfer([("STEEL", "25"), ("BOLT", "40")]))
        #expect(moved.map(\.event) == [.transfer, .transfer, .transfer, .transfer])
        #expect(moved.allSatisfy { $0.ref == "PO-1" })
        #expect(moved.map(\.location) == ["STORES", "WIP", "STORES", "WIP"])
        #expect(moved.map { $0.value } == [amt("-55.00"), amt("55.00"), amt("-4.00"), amt("4.00")])
        #expect(driver.valuation("STEEL", "STORES").value == amt("275.00"))
        #expect(driver.valuation("STEEL", "WIP").value == amt("55.00"))
        let order = try #require(driver.shop.orders["PO-1"])
        #expect(order.inputs.map(\.transferred) == [40, 25])
        #expect(order.inputs.allSatisfy { $0.toTransfer.isZero })

        // Two partial back flushes: consumption at WIP, production into FG.
        let first = try driver.run(.receive("PO-1", "R-1", [("FRAME", "4")]))
        #expect(first.filter { $0.event == .consume }.map(\.location) == ["WIP", "WIP"])
        #expect(first.filter { $0.event == .consume }.map(\.value) == [amt("-1.60"), amt("-22.00")])
        let produced = try #require(first.first { $0.event == .produce })
        #expect(produced.location == "FG")
        // 4 × 5.00 production cost + 23.60 of material = 43.60, 10.90 a frame.
        #expect(produced.value == amt("43.60"))
        #expect(produced.unitCost == amt("10.90"))
        #expect(driver.status("PO-1") == .production)
        let second = try driver.run(.receive("PO-1", "R-2", [("FRAME", "6")]))
        #expect(second.first { $0.event == .produce }?.value == amt("65.40"))
        #expect(driver.status("PO-1") == .received)
        try driver.run(.complete("PO-1"))
        #expect(driver.status("PO-1") == .completed)

        // FG holds the frames at 109.00; WIP is empty, to the cent; the stores keep the rest.
        #expect(driver.valuation("FRAME", "FG").quantity == 10)
        #expect(driver.valuation("FRAME", "FG").value == amt("109.00"))
        for sku: SKU in ["STEEL", "BOLT"] {
            #expect(driver.valuation(sku, "WIP").quantity.isZero)
            #expect(driver.valuation(sku, "WIP").value.isZero)
            let wip = driver.position(sku, "WIP")
            #expect(wip.onHand.isZero && wip.allocated.isZero && wip.demand.isZero, "\(wip)")
        }
        #expect(driver.position("FRAME", "FG").onOrder.isZero)
        #expect(driver.valuation("STEEL", "STORES").quantity == 125)
        #expect(driver.valuation("BOLT", "STORES").value == amt("96.00"))
        // Conservation: the entries of each stock key sum to its value.
        var sums: [StockKey: Amount] = [:]
        for entry in driver.entries {
            sums[StockKey(sku: entry.sku, location: entry.location), default: .zero] += entry.value ?? .zero
        }
        for (key, valuation) in driver.shop.valuations {
            #expect(sums[key, default: .zero] == valuation.value, "\(key)")
        }
    }

    @Test func withoutWarehousesEverythingHappensAtTheLocation() throws {
        var driver = try stores()
        try driver.run([Self.order(wip: nil, fg: nil), .enter("PO-1"), .start("PO-1")])
        #expect(driver.position("STEEL", "PLANT").allocated == 25)
        #expect(driver.position("FRAME", "PLANT").onOrder == 10)
        try driver.run(Self.transfer([("STEEL", "25"), ("BOLT", "40")]))
        let entries = try driver.run(.receive("PO-1", "R-1", [("FRAME", "10")]))
        #expect(Set(entries.map(\.location)) == ["PLANT"])
        #expect(driver.valuation("FRAME", "PLANT").value == amt("109.00"))
    }

    @Test func transfersAreRefusedWithTheReason() throws {
        var driver = try stores()
        try driver.run(Self.order())
        driver.refuse(Self.transfer([("STEEL", "1")]), .transferNotOpen(order: "PO-1", status: .draft))
        try driver.run(.enter("PO-1"))
        driver.refuse(Self.transfer([]), .emptyTransfer("PO-1"))
        driver.refuse(Self.transfer([("STEEL", "1")], from: "WIP"), .sameLocation("WIP"))
        driver.refuse(
            Self.transfer([("FRAME", "1")]), .notAnInput(order: "PO-1", sku: "FRAME", inputs: ["BOLT", "STEEL"]))
        driver.refuse(
            Self.transfer([("STEEL", "1"), ("STEEL", "2")]), .duplicateTransferLine(order: "PO-1", sku: "STEEL"))
        driver.refuse(Self.transfer([("STEEL", "1")], from: "NOWHERE"), .unknownLocation("NOWHERE"))
        driver.refuse(
            Self.transfer([("STEEL", "0")]), .nonPositiveQuantity(context: "transfer STEEL", quantity: .zero))
        // A refused second line leaves the first one undone too.
        driver.refuse(
            Self.transfer([("STEEL", "1"), ("BOLT", "-1")]),
            .nonPositiveQuantity(context: "transfer BOLT", quantity: amt("-1")))
        try driver.run(.complete("PO-1"))
        driver.refuse(Self.transfer([("STEEL", "1")]), .transferNotOpen(order: "PO-1", status: .completed))
    }

    @Test func schemaTwoOnlyForWhatNeedsIt() {
        #expect(Self.order().schema == 2)
        #expect(Self.order(wip: nil, fg: nil).schema == 1)
        #expect(Self.transfer([("STEEL", "1")]).schema == 2)
        #expect(Command.enter("PO-1").schema == 1)
    }
}
