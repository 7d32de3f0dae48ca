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

    static func order(wip: String? = "WIP", fg: String? = "FG", backflush: BackflushBasis? = nil) -> Command {
        .createOrder(
            CreateOrder(
                number: "PO-1", kind: .production, location: "PLANT",
                outputs: [OutputSpec(sku: "FRAME", quantity: 10, unitCost: amt("5.00"))], wip: wip, fg: fg,
                backflush: backflush))
    }

    static func receipt(
        _ id: String, frames: String, consumed: [(String, String)] = [], scrap: [(String, String)] = [],
        lost: String? = nil
    ) -> Command {
        func lines(_ pairs: [(String, String)]) -> [BOMLine]? {
            pairs.isEmpty ? nil : pairs.map { BOMLine(sku: SKU($0.0), quantity: amt($0.1)) }
        }
        return .addReceipt(
            AddReceipt(
                order: "PO-1", receipt: id, lines: [BOMLine(sku: "FRAME", quantity: amt(frames))],
                consumed: lines(consumed), scrap: lines(scrap),
                loss: lost.map { [BOMLine(sku: "FRAME", quantity: amt($0))] }))
    }

    /// Entry values of `event` on `sku`, in order.
    static func values(_ entries: [LedgerEntry], _ event: LedgerEvent, _ sku: SKU) -> [Amount] {
        entries.filter { $0.event == event && $0.sku == sku }.compactMap(\.value)
    }

    /// Every stock key's entries sum to its valuation's value and quantity.
    static func expectConservation(_ driver: ShopDriver, sourceLocation: SourceLocation = #_sourceLocation) {
        var values: [StockKey: Amount] = [:]
        var quantities: [StockKey: Amount] = [:]
        for entry in driver.entries where entry.event.movesStock {
            let key = StockKey(sku: entry.sku, location: entry.location)
            values[key, default: .zero] += entry.value ?? .zero
            quantities[key, default: .zero] += entry.quantity
        }
        for (key, valuation) in driver.shop.valuations {
            #expect(values[key, default: .zero] == valuation.value, "\(key)", sourceLocation: sourceLocation)
            #expect(quantities[key, default: .zero] == valuation.quantity, "\(key)", sourceLocation: sourceLocation)
        }
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
        Self.expectConservation(driver)
    }

    /// The worked example in ERPNext's shape: stores → Make Transfer into WIP (25 kg for the frames and 1 kg to be
    /// scrapped) → two partial back flushes, the first scrapping 1 kg → FG stock and value, WIP at zero, Completed.
    @Test func theERPNextFlowWithScrap() throws {
        var driver = try stores()
        try driver.run([Self.order(), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "26"), ("BOLT", "40")]))
        let first = try driver.run(Self.receipt("R-1", frames: "4", scrap: [("STEEL", "1")]))
        // SCRAP leaves WIP at the moving average (2.2) and, like consumption, is part of the frames' material cost.
        #expect(Self.values(first, .scrap, "STEEL") == [amt("-2.20")])
        #expect(first.first { $0.event == .scrap }?.location == "WIP")
        #expect(Self.values(first, .consume, "STEEL") == [amt("-22.00")])
        #expect(Self.values(first, .produce, "FRAME") == [amt("45.80")])
        let second = try driver.run(Self.receipt("R-2", frames: "6"))
        #expect(Self.values(second, .consume, "STEEL") == [amt("-33.00")])
        #expect(Self.values(second, .produce, "FRAME") == [amt("65.40")])
        try driver.run(.complete("PO-1"))
        #expect(driver.status("PO-1") == .completed)
        #expect(driver.valuation("FRAME", "FG").quantity == 10)
        #expect(driver.valuation("FRAME", "FG").value == amt("111.20"))
        for sku: SKU in ["STEEL", "BOLT"] {
            #expect(driver.valuation(sku, "WIP").quantity.isZero)
            #expect(driver.valuation(sku, "WIP").value.isZero)
            #expect(driver.position(sku, "WIP").onHand.isZero)
        }
        let order = try #require(driver.shop.orders["PO-1"])
        #expect(order.inputs.map(\.scrapped) == [0, 1])
        Self.expectConservation(driver)
    }

    /// One history, both bases: 27 kg of steel and 41 bolts transferred for 10 frames, 1 kg scrapped in the first
    /// of two receipts. `bom` consumes the BOM (25 kg, 40 bolts) and leaves the rest in WIP; `transferred` consumes
    /// what is there (26 kg after the scrap, 41 bolts), so WIP ends empty and the frames cost more.
    @Test(arguments: [BackflushBasis.bom, .transferred])
    func bothBasesOnOneHistory(basis: BackflushBasis) throws {
        var driver = try stores()
        try driver.run([Self.order(backflush: basis), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "27"), ("BOLT", "41")]))
        let first = try driver.run(Self.receipt("R-1", frames: "4", scrap: [("STEEL", "1")]))
        let second = try driver.run(Self.receipt("R-2", frames: "6"))
        try driver.run(.complete("PO-1"))
        switch basis {
        case .bom:
            #expect(Self.values(first, .consume, "STEEL") == [amt("-22.00")])
            #expect(Self.values(first, .produce, "FRAME") == [amt("45.80")])
            #expect(Self.values(second, .produce, "FRAME") == [amt("65.40")])
            #expect(driver.valuation("FRAME", "FG").value == amt("111.20"))
            #expect(driver.valuation("STEEL", "WIP").quantity == 1)
            #expect(driver.valuation("STEEL", "WIP").value == amt("2.20"))
            #expect(driver.valuation("BOLT", "WIP").value == amt("0.10"))
        case .transferred:
            // 26 × 4/10 = 10.4 kg at 2.2, 41 × 4/10 = 16.4 bolts at 0.10; then the exact rest.
            #expect(Self.values(first, .consume, "STEEL") == [amt("-22.88")])
            #expect(Self.values(first, .consume, "BOLT") == [amt("-1.64")])
            #expect(Self.values(first, .produce, "FRAME") == [amt("46.72")])
            #expect(Self.values(second, .consume, "STEEL") == [amt("-34.32")])
            #expect(Self.values(second, .produce, "FRAME") == [amt("66.78")])
            #expect(driver.valuation("FRAME", "FG").value == amt("113.50"))
            for sku: SKU in ["STEEL", "BOLT"] {
                #expect(driver.valuation(sku, "WIP").quantity.isZero)
                #expect(driver.valuation(sku, "WIP").value.isZero)
            }
        }
        #expect(driver.valuation("FRAME", "FG").quantity == 10)
        Self.expectConservation(driver)
    }

    /// `transferred`, closed short after 4 of 10: what was transferred and not consumed or scrapped goes back from
    /// WIP to the order's location, and the order's transferred is net of it.
    @Test func closingShortSendsTheRestBack() throws {
        var driver = try stores()
        try driver.run([Self.order(backflush: .transferred), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "27"), ("BOLT", "41")]))
        try driver.run(Self.receipt("R-1", frames: "4", scrap: [("STEEL", "1")]))
        let closed = try driver.run(.complete("PO-1"))
        let back = closed.filter { $0.event == .transfer }
        #expect(back.map(\.location) == ["WIP", "PLANT", "WIP", "PLANT"])
        #expect(back.map(\.quantity) == [amt("-24.6"), amt("24.6"), amt("-15.6"), amt("15.6")])
        #expect(back.allSatisfy { $0.ref == "PO-1" })
        #expect(driver.valuation("STEEL", "WIP").quantity.isZero)
        #expect(driver.valuation("STEEL", "WIP").value.isZero)
        #expect(driver.valuation("STEEL", "PLANT").value == amt("34.32"))
        let order = try #require(driver.shop.orders["PO-1"])
        #expect(order.inputs.map(\.transferred) == [amt("16.4"), amt("11.4")])
        Self.expectConservation(driver)
    }

    /// A receipt's stated consumption overrides the basis for that input; the completing receipt takes the rest.
    @Test func statedConsumptionOverridesTheBasis() throws {
        var driver = try stores()
        try driver.run([Self.order(), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "25"), ("BOLT", "40")]))
        let first = try driver.run(Self.receipt("R-1", frames: "4", consumed: [("STEEL", "11")]))
        #expect(first.filter { $0.event == .consume && $0.sku == "STEEL" }.map(\.quantity) == [amt("-11")])
        #expect(first.filter { $0.event == .consume && $0.sku == "BOLT" }.map(\.quantity) == [amt("-16")])
        driver.refuse(
            Self.receipt("R-3", frames: "1", consumed: [("FRAME", "1")]),
            .notAnInput(order: "PO-1", sku: "FRAME", inputs: ["BOLT", "STEEL"]))
        let second = try driver.run(Self.receipt("R-2", frames: "6"))
        #expect(second.filter { $0.event == .consume && $0.sku == "STEEL" }.map(\.quantity) == [amt("-14")])
        #expect(driver.valuation("STEEL", "WIP").quantity.isZero)
        Self.expectConservation(driver)
    }

    /// Voiding a receipt that scrapped puts the scrap back (REVERSE_SCRAP) with the rest.
    @Test func voidingAReceiptReversesItsScrap() throws {
        var driver = try stores()
        try driver.run([Self.order(), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "26"), ("BOLT", "40")]))
        let before = driver.valuation("STEEL", "WIP")
        try driver.run(Self.receipt("R-1", frames: "4", scrap: [("STEEL", "1")]))
        let reversed = try driver.run(.void("R-1"))
        #expect(Self.values(reversed, .reverseScrap, "STEEL") == [amt("2.20")])
        #expect(driver.valuation("STEEL", "WIP").quantity == before.quantity)
        #expect(driver.valuation("STEEL", "WIP").value == before.value)
        #expect(try #require(driver.shop.orders["PO-1"]).inputs.map(\.scrapped) == [0, 0])
        Self.expectConservation(driver)
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

    /// Process loss: 9 good frames and 1 lost complete the order; the lost one consumed its inputs, nothing is
    /// produced for it, and its material cost is carried by the good ones. A void puts everything back.
    @Test func processLossIsCarriedIntoTheGoodOutput() throws {
        var driver = try stores()
        try driver.run([Self.order(), .enter("PO-1"), .start("PO-1")])
        try driver.run(Self.transfer([("STEEL", "25"), ("BOLT", "40")]))
        let entries = try driver.run(Self.receipt("R-1", frames: "9", lost: "1"))
        // All ten frames' material: 55.00 + 4.00, carried by nine: 9 × 5.00 + 59.00 = 104.00.
        #expect(Self.values(entries, .consume, "STEEL") == [amt("-55.00")])
        #expect(Self.values(entries, .produce, "FRAME") == [amt("104.00")])
        let loss = try #require(entries.first { $0.event == .processLoss })
        #expect((loss.sku, loss.location, loss.quantity, loss.relieved) == ("FRAME", "FG", amt("-1"), 1))
        #expect(loss.value == nil)
        #expect(driver.status("PO-1") == .received)
        #expect(driver.position("FRAME", "FG").onOrder.isZero)
        #expect(driver.position("FRAME", "FG").onHand == 9)
        #expect(driver.valuation("STEEL", "WIP").quantity.isZero)
        driver.refuse(
            Self.receipt("R-2", frames: "0.5", lost: "0.6"),
            .overReceipt(
                order: "PO-1", sku: "FRAME", ordered: 10, received: 9, receiving: amt("1.1"), tolerancePercent: 0))
        let reversed = try driver.run(.void("R-1"))
        #expect(reversed.filter { $0.event == .reverseProcessLoss }.map(\.relieved) == [1])
        #expect(driver.position("FRAME", "FG").onOrder == 10)
        #expect(driver.status("PO-1") == .production)
        #expect(try #require(driver.shop.orders["PO-1"]).lines.map(\.lost) == [0])
        Self.expectConservation(driver)
    }

    @Test func schemaTwoOnlyForWhatNeedsIt() {
        #expect(Self.order().schema == 2)
        #expect(Self.order(wip: nil, fg: nil, backflush: .transferred).schema == 2)
        #expect(Self.receipt("R-1", frames: "1").schema == 1)
        #expect(Self.receipt("R-1", frames: "1", scrap: [("STEEL", "1")]).schema == 2)
        #expect(Self.order(wip: nil, fg: nil).schema == 1)
        #expect(Self.transfer([("STEEL", "1")]).schema == 2)
        #expect(Command.enter("PO-1").schema == 1)
    }
}
