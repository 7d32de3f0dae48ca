import Testing

@testable import ShopfloorDomain

/// The worked example of the domain issue, digit for digit.
@Suite struct WorkedExampleTests {
    func amount(_ text: String) -> Amount { try! Amount(parsing: text) }

    func entry(_ entries: [LedgerEntry], _ event: LedgerEvent, _ sku: SKU) -> LedgerEntry? {
        entries.first { $0.event == event && $0.sku == sku }
    }

    @Test func chairFromSteelBoltsAndPaint() throws {
        var shop = Shop()
        let day = ApplyContext(date: "2026-11-22")
        try shop.apply(.addLocation(Location(code: "PLANT")), context: day)
        for (sku, unit): (SKU, String) in [("STEEL", "kg"), ("BOLT", "ea"), ("PAINT", "l")] {
            try shop.apply(.addItem(Item(sku: sku, kind: .material, unit: unit)), context: day)
        }
        try shop.apply(.addItem(Item(sku: "FRAME", kind: .component)), context: day)
        try shop.apply(.addItem(Item(sku: "CHAIR", kind: .product)), context: day)
        try shop.apply(
            .setBOM(
                SetBOM(
                    parent: "FRAME",
                    lines: [BOMLine(sku: "STEEL", quantity: amount("2.5")), BOMLine(sku: "BOLT", quantity: 4)])),
            context: day)
        try shop.apply(
            .setBOM(
                SetBOM(
                    parent: "CHAIR",
                    lines: [
                        BOMLine(sku: "FRAME", quantity: 1), BOMLine(sku: "BOLT", quantity: 2),
                        BOMLine(sku: "PAINT", quantity: amount("0.2")),
                    ])), context: day)

        func adjust(_ sku: SKU, _ qty: String, _ cost: String) throws {
            try shop.apply(
                .adjustStock(AdjustStock(sku: sku, location: "PLANT", quantity: amount(qty), unitCost: amount(cost))),
                context: day)
        }
        try adjust("STEEL", "100", "2.00")
        try adjust("STEEL", "50", "2.60")
        #expect(shop.valuation(sku: "STEEL", location: "PLANT").quantity == 150)
        #expect(shop.valuation(sku: "STEEL", location: "PLANT").value == amount("330.00"))
        #expect(try shop.valuation(sku: "STEEL", location: "PLANT").rate() == amount("2.20"))
        try adjust("BOLT", "1000", "0.10")
        try adjust("PAINT", "20", "15.00")

        #expect(
            try shop.catalog.explode("CHAIR", quantity: 10, levels: .full)
                == [
                    BOMLine(sku: "BOLT", quantity: 60), BOMLine(sku: "PAINT", quantity: 2),
                    BOMLine(sku: "STEEL", quantity: 25),
                ])

        try shop.apply(
            .createOrder(
                CreateOrder(
                    number: "PO-1", kind: .production, location: "PLANT",
                    outputs: [OutputSpec(sku: "CHAIR", quantity: 10, unitCost: amount("12.00"))])), context: day)
        let entered = try shop.apply(.transition(OrderTransition(order: "PO-1", action: .enter)), context: day)
        #expect(
            entered.map { "\($0.event.rawValue) \($0.sku) \($0.quantity)" } == [
                "ORDER CHAIR 10", "DEMAND BOLT 60", "DEMAND PAINT 2", "DEMAND STEEL 25",
            ])
        #expect(entered.allSatisfy { $0.ref == "PO-1" })
        let started = try shop.apply(.transition(OrderTransition(order: "PO-1", action: .start)), context: day)
        #expect(
            started.map { "\($0.event.rawValue) \($0.sku) \($0.quantity)" } == [
                "ALLOCATE BOLT 60", "ALLOCATE PAINT 2", "ALLOCATE STEEL 25",
            ])

        let first = try shop.apply(
            .addReceipt(AddReceipt(order: "PO-1", receipt: "R1", lines: [BOMLine(sku: "CHAIR", quantity: 4)])),
            context: day)
        #expect(entry(first, .consume, "STEEL")?.quantity == -10)
        #expect(entry(first, .consume, "STEEL")?.value == amount("-22.00"))
        #expect(entry(first, .consume, "BOLT")?.quantity == -24)
        #expect(entry(first, .consume, "BOLT")?.value == amount("-2.40"))
        #expect(entry(first, .consume, "PAINT")?.quantity == amount("-0.8"))
        #expect(entry(first, .consume, "PAINT")?.value == amount("-12.00"))
        #expect(entry(first, .produce, "CHAIR")?.quantity == 4)
        #expect(entry(first, .produce, "CHAIR")?.unitCost == amount("21.10"))
        #expect(entry(first, .produce, "CHAIR")?.value == amount("84.40"))
        var steel = shop.position(sku: "STEEL", location: "PLANT")
        #expect(steel.onHand == 140 && steel.value == amount("308.00") && steel.allocated == 15)
        var chair = shop.position(sku: "CHAIR", location: "PLANT")
        #expect(chair.onHand == 4 && chair.onOrder == 6)
        #expect(try shop.order("PO-1").status == .production)

        try adjust("STEEL", "60", "3.00")
        #expect(shop.valuation(sku: "STEEL", location: "PLANT").quantity == 200)
        #expect(shop.valuation(sku: "STEEL", location: "PLANT").value == amount("488.00"))
        #expect(try shop.valuation(sku: "STEEL", location: "PLANT").rate() == amount("2.44"))

        let second = try shop.apply(
            .addReceipt(AddReceipt(order: "PO-1", receipt: "R2", lines: [BOMLine(sku: "CHAIR", quantity: 6)])),
            context: day)
        #expect(entry(second, .consume, "STEEL")?.quantity == -15)
        #expect(entry(second, .consume, "STEEL")?.value == amount("-36.60"))
        #expect(entry(second, .consume, "BOLT")?.quantity == -36)
        #expect(entry(second, .consume, "BOLT")?.value == amount("-3.60"))
        #expect(entry(second, .consume, "PAINT")?.quantity == amount("-1.2"))
        #expect(entry(second, .consume, "PAINT")?.value == amount("-18.00"))
        #expect(entry(second, .produce, "CHAIR")?.unitCost == amount("21.70"))
        #expect(entry(second, .produce, "CHAIR")?.value == amount("130.20"))
        #expect(try shop.order("PO-1").status == .received)
        chair = shop.position(sku: "CHAIR", location: "PLANT")
        #expect(chair.onHand == 10 && chair.value == amount("214.60") && chair.onOrder == 0)
        steel = shop.position(sku: "STEEL", location: "PLANT")
        #expect(steel.onHand == 185 && steel.value == amount("451.40"))
        for sku: SKU in ["STEEL", "BOLT", "PAINT", "CHAIR"] {
            let position = shop.position(sku: sku, location: "PLANT")
            #expect(position.onOrder == 0 && position.demand == 0 && position.allocated == 0, "\(sku)")
        }

        // Work order: conversion cost only, one-level inputs.
        try shop.apply(
            .createOrder(
                CreateOrder(
                    number: "WO-1", kind: .work, location: "PLANT",
                    outputs: [OutputSpec(sku: "CHAIR", quantity: 5, unitCost: amount("3.00"))])), context: day)
        try adjust("FRAME", "5", "11.00")
        let workEntered = try shop.apply(.transition(OrderTransition(order: "WO-1", action: .enter)), context: day)
        #expect(
            workEntered.filter { $0.event == .demand }.map { "\($0.sku) \($0.quantity)" } == [
                "BOLT 10", "FRAME 5", "PAINT 1",
            ])
        try shop.apply(.transition(OrderTransition(order: "WO-1", action: .start)), context: day)
        let work = try shop.apply(
            .addReceipt(AddReceipt(order: "WO-1", receipt: "R3", lines: [BOMLine(sku: "CHAIR", quantity: 5)])),
            context: day)
        #expect(entry(work, .consume, "FRAME")?.value == amount("-55.00"))
        #expect(entry(work, .consume, "BOLT")?.value == amount("-1.00"))
        #expect(entry(work, .consume, "PAINT")?.value == amount("-15.00"))
        #expect(entry(work, .produce, "CHAIR")?.unitCost == amount("3.00"))
        #expect(entry(work, .produce, "CHAIR")?.value == amount("15.00"))
        chair = shop.position(sku: "CHAIR", location: "PLANT")
        #expect(chair.onHand == 15 && chair.value == amount("229.60"))
        let bolt = shop.position(sku: "BOLT", location: "PLANT")
        #expect(bolt.onHand == 930 && bolt.value == amount("93.00"))
        let paint = shop.position(sku: "PAINT", location: "PLANT")
        #expect(paint.onHand == 17 && paint.value == amount("255.00"))
    }
}
