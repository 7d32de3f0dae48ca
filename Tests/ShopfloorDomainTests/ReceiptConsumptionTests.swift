import Testing

@testable import ShopfloorDomain

/// DESIGN.md §2: "the receipt that completes a line takes the exact remainder, so a fully received order has
/// consumed exactly its inputs", and positions are "ORDER not yet produced" / "ALLOCATE not yet consumed" —
/// also across voids, over-receipts and outputs that share an input.
@Suite struct ReceiptConsumptionTests {
    func consumed(_ entries: [LedgerEntry], _ sku: SKU) -> Amount {
        entries.filter { $0.sku == sku && ($0.event == .consume || $0.event == .reverseConsume) }
            .reduce(Amount.zero) { $0 - $1.quantity }
    }

    /// X = 5 M and Y = 3 M; order O makes 2 X (10 M) and 4 Y (12 M).
    static func twoOutputs() throws -> ShopDriver {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .item("M", .material), .item("X", .product), .item("Y", .product),
            .bom("X", [("M", "5")]), .bom("Y", [("M", "3")]),
            .adjust("M", "PLANT", "100", cost: "1"),
            .create("O", .production, at: "PLANT", [("X", "2", "1"), ("Y", "4", "1")]),
            .enter("O"), .start("O"),
        ])
        return d
    }

    @Test func voidingAReceiptOfTwoLinesGivesEachLineBackItsOwnConsumption() throws {
        var d = try Self.twoOutputs()
        try d.run(.receive("O", "R1", [("X", "1")]))
        let r2 = try d.run(.receive("O", "R2", [("X", "1"), ("Y", "3")]))
        #expect(r2.filter { $0.event == .consume }.map(\.quantity) == [-5, -9])
        try d.run(.void("R2"))
        // R1 consumed 5 M for X; nothing is left consumed for Y.
        let order = try d.shop.order("O")
        #expect(order.lines[0].consumed["M"] == 5, "X")
        #expect((order.lines[1].consumed["M"] ?? .zero) == 0, "Y")
    }

    @Test func orderWithSharedInputConsumesExactlyItsInputsAfterAVoid() throws {
        var d = try Self.twoOutputs()
        let start = d.entries.count
        try d.run(.receive("O", "R1", [("X", "1")]))
        try d.run(.receive("O", "R2", [("X", "1"), ("Y", "3")]))
        try d.run(.void("R2"))
        let r3 = try d.run(.receive("O", "R3", [("Y", "3")]))
        let r4 = try d.run(.receive("O", "R4", [("Y", "1")]))
        let r5 = try d.run(.receive("O", "R5", [("X", "1")]))
        #expect(consumed(r3, "M") == 9)
        #expect(consumed(r4, "M") == 3)
        #expect(consumed(r5, "M") == 5)
        #expect(d.status("O") == .received)
        // 2 X × 5 + 4 Y × 3 = 22 M, and each product carries its own material.
        #expect(consumed(Array(d.entries[start...]), "M") == 22)
        #expect(d.position("M", "PLANT").onHand == 78)
        let order = try d.shop.order("O")
        #expect(order.lines.map { $0.consumed["M"] } == [10, 12])
        #expect(d.position("X", "PLANT").value == 12, "2 X at 1 + 5 M each")
        #expect(d.position("Y", "PLANT").value == 16, "4 Y at 1 + 3 M each")
    }

    /// P = 2 M; order O makes 10 P with a 20 % tolerance.
    static func overReceived() throws -> ShopDriver {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .item("M", .material), .item("P", .product), .bom("P", [("M", "2")]),
            .adjust("M", "PLANT", "100", cost: "1"),
            .create("O", .production, at: "PLANT", tolerance: "20", [("P", "10", "1")]),
            .enter("O"), .start("O"),
            .receive("O", "R1", [("P", "10")]),
            .receive("O", "R2", [("P", "2")]),
        ])
        return d
    }

    @Test func voidingTheFirstReceiptAfterAnOverReceiptRestoresOnlyWhatIsOutstanding() throws {
        var d = try Self.overReceived()
        try d.run(.void("R1"))
        // 2 of 10 produced (by R2): 8 still on order; 4 of 20 M consumed: 16 still allocated.
        let order = try d.shop.order("O")
        #expect(order.status == .production)
        #expect(order.lines[0].produced == 2)
        #expect(order.lines[0].onOrder == 8)
        #expect(order.inputs[0].allocated == 16)
        #expect(d.position("P", "PLANT").onOrder == 8)
        #expect(d.position("M", "PLANT").allocated == 16)
    }

    @Test func fullyReceivedAgainAfterAVoidLeavesNothingOutstanding() throws {
        var d = try Self.overReceived()
        try d.run(.void("R1"))
        let r3 = try d.run(.receive("O", "R3", [("P", "8")]))
        #expect(consumed(r3, "M") == 16)
        #expect(d.status("O") == .received)
        #expect(d.position("P", "PLANT").onOrder == .zero)
        #expect(d.position("M", "PLANT").allocated == .zero)
        // Closing a fully received order has nothing left to reverse.
        let closed = try d.run(.complete("O"))
        #expect(closed.map(EntryFigures.init) == [])
    }

    /// 0.625 M per P, 0.000008 P ordered: 0.000005 M in all, received 0.000001 P at a time.
    @Test func manySmallReceiptsNeverConsumeMoreThanTheInputs() throws {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .item("M", .material), .item("P", .product), .bom("P", [("M", "0.625")]),
            .adjust("M", "PLANT", "1", cost: "1"),
            .create("O", .production, at: "PLANT", [("P", "0.000008", "1")]), .enter("O"), .start("O"),
        ])
        let start = d.entries.count
        #expect(try d.shop.order("O").inputs.map(\.required) == [amt("0.000005")])
        for index in 1...8 { try d.run(.receive("O", "R\(index)", [("P", "0.000001")])) }
        #expect(d.status("O") == .received)
        #expect(consumed(Array(d.entries[start...]), "M") == amt("0.000005"))
        #expect(try d.shop.order("O").lines[0].consumed["M"] == amt("0.000005"))
    }
}
