import Testing

@testable import ShopfloorDomain

/// One test per row of DESIGN.md §2's ledger table: the entries each step writes and the positions after it.
///
/// The plant: PROD = 2 SUB + 3 M1, SUB = 0.5 M2; M1 100 @ 2.00 and M2 50 @ 4.00 at PLANT.
/// Production order PO-1 makes 4 PROD at 5.00 a unit: inputs (full explosion) M1 12, M2 4.
@Suite struct LedgerTableTests {
    static func plant() throws -> ShopDriver {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .location("WH"),
            .item("M1", .material), .item("M2", .material), .item("SUB", .component), .item("PROD", .product),
            .bom("SUB", [("M2", "0.5")]),
            .bom("PROD", [("SUB", "2"), ("M1", "3")]),
            .adjust("M1", "PLANT", "100", cost: "2.00"),
            .adjust("M2", "PLANT", "50", cost: "4.00"),
            .create("PO-1", .production, at: "PLANT", [("PROD", "4", "5.00")]),
        ])
        return d
    }

    static func entered() throws -> ShopDriver {
        var d = try plant()
        try d.run(.enter("PO-1"))
        return d
    }

    static func started() throws -> ShopDriver {
        var d = try entered()
        try d.run(.start("PO-1"))
        return d
    }

    func figures(_ entries: [LedgerEntry]) -> [EntryFigures] { entries.map(EntryFigures.init) }

    func expectPosition(
        _ d: ShopDriver, _ sku: SKU, at location: String = "PLANT", _ expected: PositionFigures,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            PositionFigures(d.position(sku, location)) == expected, "\(sku)@\(location)", sourceLocation: sourceLocation
        )
        // Positions are computed from entries, never kept as hidden counters.
        let recomputed =
            Position.from(d.entries)[StockKey(sku: sku, location: location)] ?? Position(sku: sku, location: location)
        #expect(
            recomputed == d.position(sku, location), "\(sku)@\(location) recomputed", sourceLocation: sourceLocation)
    }

    // MARK: Entered: ORDER on each output, DEMAND on each input

    @Test func enterWritesOrderOnOutputsAndDemandOnInputs() throws {
        var d = try Self.plant()
        let before = d.entries.count
        let written = try d.run(.enter("PO-1"))
        #expect(
            figures(written) == [
                EntryFigures(.order, "PROD", "PLANT", "4", ref: "PO-1"),
                EntryFigures(.demand, "M1", "PLANT", "12", ref: "PO-1"),
                EntryFigures(.demand, "M2", "PLANT", "4", ref: "PO-1"),
            ])
        #expect(d.entries.count == before + 3)
        #expect(written.allSatisfy { $0.date == "2026-11-22" && $0.operation == "op-test" && $0.unitCost == nil })
        #expect(written.allSatisfy { $0.relieved == .zero })
        expectPosition(d, "PROD", PositionFigures(onOrder: "4", available: "0", projected: "4"))
        expectPosition(
            d, "M1", PositionFigures(onHand: "100", demand: "12", available: "100", projected: "88", value: "200"))
        expectPosition(
            d, "M2", PositionFigures(onHand: "50", demand: "4", available: "50", projected: "46", value: "200"))
        // A production order explodes through SUB: no commitment on the component itself.
        #expect(d.shop.positions[StockKey(sku: "SUB", location: "PLANT")] == nil)
        let order = try d.shop.order("PO-1")
        #expect(order.status == .entered)
        #expect(order.lines[0].inputs == [BOMLine(sku: "M1", quantity: 12), BOMLine(sku: "M2", quantity: 4)])
        #expect(order.lines[0].onOrder == 4)
        #expect(
            order.inputs.map { "\($0.sku) \($0.required) \($0.demand) \($0.allocated)" } == ["M1 12 12 0", "M2 4 4 0"])
    }

    @Test func enterOnAWorkOrderDemandsDirectChildren() throws {
        var d = try Self.plant()
        try d.run(.create("WO-1", .work, at: "PLANT", [("PROD", "4", "1.50")]))
        let written = try d.run(.enter("WO-1"))
        #expect(
            figures(written) == [
                EntryFigures(.order, "PROD", "PLANT", "4", ref: "WO-1"),
                EntryFigures(.demand, "M1", "PLANT", "12", ref: "WO-1"),
                EntryFigures(.demand, "SUB", "PLANT", "8", ref: "WO-1"),
            ])
        expectPosition(d, "SUB", PositionFigures(demand: "8", available: "0", projected: "-8"))
    }

    @Test func enterWithTwoOutputsSumsSharedInputs() throws {
        var d = try Self.plant()
        try d.run(.create("PO-2", .production, at: "WH", [("PROD", "1", "5"), ("SUB", "6", "1")]))
        let written = try d.run(.enter("PO-2"))
        // PROD 1 → M1 3, M2 1; SUB 6 → M2 3.
        #expect(
            figures(written) == [
                EntryFigures(.order, "PROD", "WH", "1", ref: "PO-2"),
                EntryFigures(.order, "SUB", "WH", "6", ref: "PO-2"),
                EntryFigures(.demand, "M1", "WH", "3", ref: "PO-2"),
                EntryFigures(.demand, "M2", "WH", "4", ref: "PO-2"),
            ])
        expectPosition(d, "M2", at: "WH", PositionFigures(demand: "4", available: "0", projected: "-4"))
        expectPosition(
            d, "M2", at: "PLANT", PositionFigures(onHand: "50", available: "50", projected: "50", value: "200"))
    }

    // MARK: Production: ALLOCATE on each input

    @Test func startAllocatesEveryInput() throws {
        var d = try Self.entered()
        let written = try d.run(.start("PO-1"))
        #expect(
            figures(written) == [
                EntryFigures(.allocate, "M1", "PLANT", "12", ref: "PO-1"),
                EntryFigures(.allocate, "M2", "PLANT", "4", ref: "PO-1"),
            ])
        #expect(written.allSatisfy { $0.value == nil && $0.unitCost == nil })
        expectPosition(
            d, "M1", PositionFigures(onHand: "100", allocated: "12", available: "88", projected: "88", value: "200"))
        expectPosition(
            d, "M2", PositionFigures(onHand: "50", allocated: "4", available: "46", projected: "46", value: "200"))
        expectPosition(d, "PROD", PositionFigures(onOrder: "4", available: "0", projected: "4"))
        let order = try d.shop.order("PO-1")
        #expect(order.status == .production)
        #expect(order.inputs.map { "\($0.sku) \($0.demand) \($0.allocated)" } == ["M1 0 12", "M2 0 4"])
    }

    // MARK: Receipt: CONSUME inputs in proportion, PRODUCE outputs at the unit cost

    struct ReceiptCase: Sendable, CustomTestStringConvertible {
        var received: String
        var m1: String
        var m1Value: String
        var m2: String
        var m2Value: String
        var produceValue: String
        var status: OrderStatus
        var testDescription: String { "receive \(received) of 4" }
    }

    @Test(arguments: [
        ReceiptCase(
            received: "1", m1: "3", m1Value: "6", m2: "1", m2Value: "4", produceValue: "15", status: .production),
        ReceiptCase(
            received: "1.5", m1: "4.5", m1Value: "9", m2: "1.5", m2Value: "6", produceValue: "22.5", status: .production
        ),
        ReceiptCase(
            received: "2", m1: "6", m1Value: "12", m2: "2", m2Value: "8", produceValue: "30", status: .production),
        ReceiptCase(
            received: "3.999999", m1: "11.999997", m1Value: "23.999994", m2: "3.999999", m2Value: "15.999996",
            produceValue: "59.999985", status: .production),
        ReceiptCase(
            received: "4", m1: "12", m1Value: "24", m2: "4", m2Value: "16", produceValue: "60", status: .received),
    ])
    func receiptConsumesProportionallyAndProduces(_ c: ReceiptCase) throws {
        var d = try Self.started()
        let written = try d.run(.receive("PO-1", "R1", [("PROD", c.received)], date: "2026-11-20"))
        #expect(
            figures(written) == [
                EntryFigures(.consume, "M1", "PLANT", "-" + c.m1, value: "-" + c.m1Value, ref: "PO-1"),
                EntryFigures(.consume, "M2", "PLANT", "-" + c.m2, value: "-" + c.m2Value, ref: "PO-1"),
                EntryFigures(.produce, "PROD", "PLANT", c.received, value: c.produceValue, ref: "PO-1"),
            ])
        // CONSUME at the weighted-average cost; PRODUCE at production cost + material cost (5 + 6 + 4).
        #expect(written.map(\.unitCost) == [amt("2"), amt("4"), amt("15")])
        // The receipt's own date, the command's operation.
        #expect(written.allSatisfy { $0.date == "2026-11-20" && $0.operation == "op-test" })
        // Each stock movement relieves its commitment.
        #expect(written.map(\.relieved) == [amt(c.m1), amt(c.m2), amt(c.received)])

        let received = amt(c.received)
        expectPosition(
            d, "M1",
            PositionFigures(
                onHand: (100 - amt(c.m1)).description, allocated: (12 - amt(c.m1)).description, available: "88",
                projected: "88", value: (200 - amt(c.m1Value)).description))
        expectPosition(
            d, "M2",
            PositionFigures(
                onHand: (50 - amt(c.m2)).description, allocated: (4 - amt(c.m2)).description, available: "46",
                projected: "46", value: (200 - amt(c.m2Value)).description))
        expectPosition(
            d, "PROD",
            PositionFigures(
                onHand: c.received, onOrder: (4 - received).description, available: c.received, projected: "4",
                value: c.produceValue))
        let order = try d.shop.order("PO-1")
        #expect(order.status == c.status)
        #expect(order.lines[0].produced == received)
        #expect(order.lines[0].consumed == ["M1": amt(c.m1), "M2": amt(c.m2)])
        #expect(order.receipts.map(\.id) == ["R1"])
        #expect(d.shop.receiptOrders == ["R1": "PO-1"])
    }

    @Test func receiptsInPartsConsumeExactlyTheInputs() throws {
        var d = try Self.started()
        let first = try d.run(.receive("PO-1", "R1", [("PROD", "1")]))
        let second = try d.run(.receive("PO-1", "R2", [("PROD", "1.5")]))
        let third = try d.run(.receive("PO-1", "R3", [("PROD", "1.5")]))
        #expect(figures(first).map(\.quantity) == [amt("-3"), amt("-1"), amt("1")])
        #expect(figures(second).map(\.quantity) == [amt("-4.5"), amt("-1.5"), amt("1.5")])
        #expect(figures(third).map(\.quantity) == [amt("-4.5"), amt("-1.5"), amt("1.5")])
        #expect(try d.shop.order("PO-1").status == .received)
        expectPosition(d, "M1", PositionFigures(onHand: "88", available: "88", projected: "88", value: "176"))
        expectPosition(d, "M2", PositionFigures(onHand: "46", available: "46", projected: "46", value: "184"))
        expectPosition(d, "PROD", PositionFigures(onHand: "4", available: "4", projected: "4", value: "60"))
    }

    @Test func completingReceiptTakesTheExactRemainder() throws {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .item("M", .material), .item("TINY", .component),
            .bom("TINY", [("M", "0.000003")]),
            .adjust("M", "PLANT", "1", cost: "1"),
            .create("T-1", .production, at: "PLANT", [("TINY", "1", "0")]),
            .enter("T-1"), .start("T-1"),
        ])
        // 0.000003 × 0.5 = 0.0000015 rounds (half to even) to 0.000002; the completing receipt takes the rest.
        let first = try d.run(.receive("T-1", "R1", [("TINY", "0.5")]))
        let second = try d.run(.receive("T-1", "R2", [("TINY", "0.5")]))
        #expect(first.first { $0.event == .consume }?.quantity == amt("-0.000002"))
        #expect(second.first { $0.event == .consume }?.quantity == amt("-0.000001"))
        #expect(d.position("M", "PLANT").onHand == amt("0.999997"))
        #expect(d.position("M", "PLANT").allocated == .zero)
        #expect(try d.shop.order("T-1").lines[0].consumed == ["M": amt("0.000003")])
    }

    @Test func productionOrderCarriesMaterialCostWorkOrderOnlyConversion() throws {
        var d = try Self.plant()
        try d.run([
            .adjust("SUB", "PLANT", "10", cost: "7.00"),
            .create("WO-1", .work, at: "PLANT", [("PROD", "2", "1.50")]),
            .enter("WO-1"), .start("WO-1"),
        ])
        let written = try d.run(.receive("WO-1", "R1", [("PROD", "2")]))
        #expect(
            figures(written) == [
                EntryFigures(.consume, "M1", "PLANT", "-6", value: "-12", ref: "WO-1"),
                EntryFigures(.consume, "SUB", "PLANT", "-4", value: "-28", ref: "WO-1"),
                EntryFigures(.produce, "PROD", "PLANT", "2", value: "3", ref: "WO-1"),
            ])
        #expect(written.last?.unitCost == amt("1.5"))
    }

    // MARK: Close short and cancel: reverse only what is outstanding

    struct CloseCase: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [Command]
        var close: Command
        var expected: [EntryFigures]
        var status: OrderStatus
        var prod: PositionFigures
        var m1: PositionFigures
        var m2: PositionFigures
        var testDescription: String { name }
    }

    static let baseline = (
        m1: PositionFigures(onHand: "100", available: "100", projected: "100", value: "200"),
        m2: PositionFigures(onHand: "50", available: "50", projected: "50", value: "200")
    )

    static let closeCases: [CloseCase] = [
        CloseCase(
            name: "cancel in Draft", before: [], close: .cancel("PO-1"), expected: [], status: .cancelled,
            prod: PositionFigures(available: "0", projected: "0"), m1: baseline.m1, m2: baseline.m2),
        CloseCase(
            name: "cancel in Entered", before: [.enter("PO-1")], close: .cancel("PO-1"),
            expected: [
                EntryFigures(.reverseOrder, "PROD", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M2", "PLANT", "-4", ref: "PO-1"),
            ], status: .cancelled, prod: PositionFigures(available: "0", projected: "0"), m1: baseline.m1,
            m2: baseline.m2),
        CloseCase(
            name: "close short in Entered", before: [.enter("PO-1")], close: .complete("PO-1"),
            expected: [
                EntryFigures(.reverseOrder, "PROD", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M2", "PLANT", "-4", ref: "PO-1"),
            ], status: .completed, prod: PositionFigures(available: "0", projected: "0"), m1: baseline.m1,
            m2: baseline.m2),
        CloseCase(
            name: "cancel in Production", before: [.enter("PO-1"), .start("PO-1")], close: .cancel("PO-1"),
            expected: [
                EntryFigures(.reverseOrder, "PROD", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M2", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M2", "PLANT", "-4", ref: "PO-1"),
            ], status: .cancelled, prod: PositionFigures(available: "0", projected: "0"), m1: baseline.m1,
            m2: baseline.m2),
        CloseCase(
            name: "close short after one of four",
            before: [.enter("PO-1"), .start("PO-1"), .receive("PO-1", "R1", [("PROD", "1")])],
            close: .complete("PO-1"),
            expected: [
                EntryFigures(.reverseOrder, "PROD", "PLANT", "-3", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M1", "PLANT", "-9", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M1", "PLANT", "-9", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M2", "PLANT", "-3", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M2", "PLANT", "-3", ref: "PO-1"),
            ], status: .completed,
            prod: PositionFigures(onHand: "1", available: "1", projected: "1", value: "15"),
            m1: PositionFigures(onHand: "97", available: "97", projected: "97", value: "194"),
            m2: PositionFigures(onHand: "49", available: "49", projected: "49", value: "196")),
        CloseCase(
            name: "cancel after voiding the only receipt",
            before: [.enter("PO-1"), .start("PO-1"), .receive("PO-1", "R1", [("PROD", "1")]), .void("R1")],
            close: .cancel("PO-1"),
            expected: [
                EntryFigures(.reverseOrder, "PROD", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M1", "PLANT", "-12", ref: "PO-1"),
                EntryFigures(.reverseAllocate, "M2", "PLANT", "-4", ref: "PO-1"),
                EntryFigures(.reverseDemand, "M2", "PLANT", "-4", ref: "PO-1"),
            ], status: .cancelled, prod: PositionFigures(available: "0", projected: "0"), m1: baseline.m1,
            m2: baseline.m2),
        CloseCase(
            name: "complete when fully received",
            before: [.enter("PO-1"), .start("PO-1"), .receive("PO-1", "R1", [("PROD", "4")])], close: .complete("PO-1"),
            expected: [], status: .completed,
            prod: PositionFigures(onHand: "4", available: "4", projected: "4", value: "60"),
            m1: PositionFigures(onHand: "88", available: "88", projected: "88", value: "176"),
            m2: PositionFigures(onHand: "46", available: "46", projected: "46", value: "184")),
    ]

    @Test(arguments: closeCases)
    func closeShortAndCancelReverseOnlyWhatIsOutstanding(_ c: CloseCase) throws {
        var d = try Self.plant()
        try d.run(c.before)
        let written = try d.run(c.close)
        #expect(figures(written) == c.expected)
        #expect(written.allSatisfy { $0.value == nil && $0.date == "2026-11-22" && $0.operation == "op-test" })
        #expect(d.status("PO-1") == c.status)
        expectPosition(d, "PROD", c.prod)
        expectPosition(d, "M1", c.m1)
        expectPosition(d, "M2", c.m2)
        let order = try d.shop.order("PO-1")
        #expect(order.lines.allSatisfy { $0.onOrder == .zero })
        #expect(order.inputs.allSatisfy { $0.demand == .zero && $0.allocated == .zero })
    }

    // MARK: Void: REVERSE_CONSUME / REVERSE_PRODUCE of what the receipt wrote

    struct VoidCase: Sendable, CustomTestStringConvertible {
        var received: String
        var statusBeforeVoid: OrderStatus
        var m1: String
        var m1Value: String
        var m2Value: String
        var produceValue: String
        var testDescription: String { "void a receipt of \(received)" }
    }

    @Test(arguments: [
        VoidCase(received: "1", statusBeforeVoid: .production, m1: "3", m1Value: "6", m2Value: "4", produceValue: "15"),
        VoidCase(
            received: "4", statusBeforeVoid: .received, m1: "12", m1Value: "24", m2Value: "16", produceValue: "60"),
    ])
    func voidReversesWhatTheReceiptWrote(_ c: VoidCase) throws {
        var d = try Self.started()
        let startValuations = d.shop.valuations
        let receipt = try d.run(.receive("PO-1", "R1", [("PROD", c.received)], date: "2026-11-20"))
        #expect(d.status("PO-1") == c.statusBeforeVoid)
        d.context = ApplyContext(operation: "op-void", date: "2026-11-23")
        let written = try d.run(.void("R1"))
        #expect(
            figures(written) == [
                EntryFigures(
                    .reverseProduce, "PROD", "PLANT", "-" + c.received, value: "-" + c.produceValue, ref: "PO-1"),
                EntryFigures(.reverseConsume, "M2", "PLANT", c.received, value: c.m2Value, ref: "PO-1"),
                EntryFigures(.reverseConsume, "M1", "PLANT", c.m1, value: c.m1Value, ref: "PO-1"),
            ])
        #expect(written.allSatisfy { $0.date == "2026-11-23" && $0.operation == "op-void" })
        #expect(written.map(\.relieved) == receipt.reversed().map(\.relieved))
        #expect(written.map(\.unitCost) == [amt("15"), amt("4"), amt("2")])
        // Everything is back where Start left it.
        expectPosition(
            d, "M1", PositionFigures(onHand: "100", allocated: "12", available: "88", projected: "88", value: "200"))
        expectPosition(
            d, "M2", PositionFigures(onHand: "50", allocated: "4", available: "46", projected: "46", value: "200"))
        expectPosition(d, "PROD", PositionFigures(onOrder: "4", available: "0", projected: "4"))
        for sku: SKU in ["M1", "M2"] {
            let key = StockKey(sku: sku, location: "PLANT")
            #expect(d.shop.valuations[key]?.quantity == startValuations[key]?.quantity)
            #expect(d.shop.valuations[key]?.value == startValuations[key]?.value)
        }
        let order = try d.shop.order("PO-1")
        #expect(order.status == .production)
        #expect(order.receipts.map(\.voided) == [true])
        #expect(order.visibleReceipts.isEmpty)
        #expect(order.lines[0].produced == .zero && order.lines[0].onOrder == 4)
        #expect(order.lines[0].consumed.values.allSatisfy { $0.isZero })
        #expect(order.inputs.map { "\($0.sku) \($0.demand) \($0.allocated)" } == ["M1 0 12", "M2 0 4"])
    }

    @Test func voidTakesTheProductOutAtItsCurrentAverage() throws {
        var d = try Self.started()
        try d.run(.receive("PO-1", "R1", [("PROD", "1")]))
        try d.run(.adjust("PROD", "PLANT", "1", cost: "25"))
        let written = try d.run(.void("R1"))
        // PROD: 2 units worth 40 → one leaves at 20; the materials come back at what they left at.
        #expect(
            figures(written) == [
                EntryFigures(.reverseProduce, "PROD", "PLANT", "-1", value: "-20", ref: "PO-1"),
                EntryFigures(.reverseConsume, "M2", "PLANT", "1", value: "4", ref: "PO-1"),
                EntryFigures(.reverseConsume, "M1", "PLANT", "3", value: "6", ref: "PO-1"),
            ])
        expectPosition(
            d, "PROD", PositionFigures(onHand: "1", onOrder: "4", available: "1", projected: "5", value: "20"))
    }

    // MARK: ADJUST: in with unit cost, out at the weighted average

    struct AdjustCase: Sendable, CustomTestStringConvertible {
        var quantity: String
        var cost: String?
        var value: String
        var unitCost: String
        var after: PositionFigures
        var testDescription: String { "adjust \(quantity)\(cost.map { " @ \($0)" } ?? "")" }
    }

    @Test(arguments: [
        AdjustCase(
            quantity: "10", cost: "3.00", value: "30", unitCost: "3",
            after: PositionFigures(onHand: "110", available: "110", projected: "110", value: "230")),
        AdjustCase(
            quantity: "5", cost: "0", value: "0", unitCost: "0",
            after: PositionFigures(onHand: "105", available: "105", projected: "105", value: "200")),
        AdjustCase(
            quantity: "3", cost: nil, value: "6", unitCost: "2",
            after: PositionFigures(onHand: "103", available: "103", projected: "103", value: "206")),
        AdjustCase(
            quantity: "-40", cost: nil, value: "-80", unitCost: "2",
            after: PositionFigures(onHand: "60", available: "60", projected: "60", value: "120")),
        AdjustCase(
            quantity: "-100", cost: nil, value: "-200", unitCost: "2",
            after: PositionFigures(available: "0", projected: "0")),
        AdjustCase(
            quantity: "-101", cost: nil, value: "-202", unitCost: "2",
            after: PositionFigures(onHand: "-1", available: "-1", projected: "-1", value: "-2")),
    ])
    func adjustBringsStockInAtItsCostAndTakesItOutAtAverage(_ c: AdjustCase) throws {
        var d = try Self.plant()
        let written = try d.run(.adjust("M1", "PLANT", c.quantity, cost: c.cost))
        #expect(figures(written) == [EntryFigures(.adjust, "M1", "PLANT", c.quantity, value: c.value, ref: nil)])
        #expect(written.first?.unitCost == amt(c.unitCost))
        #expect(written.first?.relieved == .zero)
        expectPosition(d, "M1", c.after)
        #expect(d.valuation("M1", "PLANT").quantity == c.after.onHand)
        #expect(d.valuation("M1", "PLANT").value == c.after.value)
    }

    @Test func adjustOutAfterBlendingRoundsTheAverage() throws {
        var d = try Self.plant()
        try d.run(.adjust("M1", "PLANT", "10", cost: "3.00"))
        // 230 / 110 = 2.0909090… → 2.090909; 11 × 2.090909 = 22.999999.
        let out = try d.run(.adjust("M1", "PLANT", "-11"))
        #expect(figures(out) == [EntryFigures(.adjust, "M1", "PLANT", "-11", value: "-22.999999", ref: nil)])
        #expect(out.first?.unitCost == amt("2.090909"))
        expectPosition(d, "M1", PositionFigures(onHand: "99", available: "99", projected: "99", value: "207.000001"))
    }

    @Test func adjustRefusals() throws {
        var d = try Self.plant()
        d.refuse(.adjust("M1", "PLANT", "-1", cost: "2"), .unitCostOnOutgoing(sku: "M1"))
        d.refuse(.adjust("M1", "PLANT", "1", cost: "-2"), .negativeCost(context: "adjust M1", cost: amt("-2")))
        d.refuse(.adjust("M1", "PLANT", "0"), .zeroQuantity(context: "adjust M1"))
        d.refuse(.adjust("NOPE", "PLANT", "1"), .unknownItem("NOPE"))
        d.refuse(.adjust("M1", "MOON", "1"), .unknownLocation("MOON"))
    }

    // MARK: TRANSFER: out at the source, in at the destination, carrying the source rate

    @Test(arguments: [("0", "0"), ("5", "10.00")])
    func transferMovesStockAtTheSourceRate(destinationQuantity: String, destinationCost: String) throws {
        var d = try Self.plant()
        try d.run(.adjust("M1", "PLANT", "10", cost: "3.00"))
        if destinationQuantity != "0" {
            try d.run(.adjust("M1", "WH", destinationQuantity, cost: destinationCost))
        }
        d.context = ApplyContext(operation: "op-move", date: "2026-11-24")
        let written = try d.run(.transfer("M1", "10", from: "PLANT", to: "WH"))
        #expect(
            figures(written) == [
                EntryFigures(.transfer, "M1", "PLANT", "-10", value: "-20.90909", ref: nil),
                EntryFigures(.transfer, "M1", "WH", "10", value: "20.90909", ref: nil),
            ])
        #expect(written.map(\.unitCost) == [amt("2.090909"), amt("2.090909")])
        #expect(written.allSatisfy { $0.date == "2026-11-24" && $0.operation == "op-move" })
        expectPosition(
            d, "M1", at: "PLANT", PositionFigures(onHand: "100", available: "100", projected: "100", value: "209.09091")
        )
        let whQuantity = 10 + amt(destinationQuantity)
        let whValue = amt("20.90909") + (try amt(destinationQuantity).multiplied(by: amt(destinationCost)))
        expectPosition(
            d, "M1", at: "WH",
            PositionFigures(
                onHand: whQuantity.description, available: whQuantity.description, projected: whQuantity.description,
                value: whValue.description))
    }

    @Test func transferRefusals() throws {
        var d = try Self.plant()
        d.refuse(.transfer("M1", "1", from: "PLANT", to: "PLANT"), .sameLocation("PLANT"))
        d.refuse(
            .transfer("M1", "0", from: "PLANT", to: "WH"), .nonPositiveQuantity(context: "transfer M1", quantity: 0))
        d.refuse(
            .transfer("M1", "-1", from: "PLANT", to: "WH"), .nonPositiveQuantity(context: "transfer M1", quantity: -1))
        d.refuse(.transfer("M1", "1", from: "PLANT", to: "MOON"), .unknownLocation("MOON"))
        d.refuse(.transfer("M1", "1", from: "MOON", to: "WH"), .unknownLocation("MOON"))
        d.refuse(.transfer("NOPE", "1", from: "PLANT", to: "WH"), .unknownItem("NOPE"))
    }

    // MARK: The snapshot

    @Test func enteredOrderKeepsItsInputSnapshotWhenTheBOMChanges() throws {
        var d = try Self.started()
        try d.run(.bom("PROD", [("M1", "1")]))
        let written = try d.run(.receive("PO-1", "R1", [("PROD", "4")]))
        #expect(written.filter { $0.event == .consume }.map { "\($0.sku) \($0.quantity)" } == ["M1 -12", "M2 -4"])
        // A new order takes the new BOM.
        try d.run([.create("PO-2", .production, at: "PLANT", [("PROD", "4", "5")]), .enter("PO-2")])
        #expect(try d.shop.order("PO-2").inputs.map(\.sku) == ["M1"])
        #expect(try d.shop.order("PO-2").inputs.map(\.required) == [4])
    }

    @Test func everyEntryDeltaMatchesItsEvent() {
        func delta(_ event: LedgerEvent, _ q: String, relieved: String = "0", value: String? = nil) -> PositionDelta {
            LedgerEntry(
                sku: "S", location: "L", event: event, quantity: amt(q), value: value.map(amt), relieved: amt(relieved),
                date: "2026-01-01", operation: ""
            ).delta
        }
        #expect(delta(.order, "4") == PositionDelta(onOrder: 4))
        #expect(delta(.reverseOrder, "-4") == PositionDelta(onOrder: -4))
        #expect(delta(.demand, "4") == PositionDelta(demand: 4))
        #expect(delta(.reverseDemand, "-4") == PositionDelta(demand: -4))
        #expect(delta(.allocate, "4") == PositionDelta(demand: -4, allocated: 4))
        #expect(delta(.reverseAllocate, "-4") == PositionDelta(demand: 4, allocated: -4))
        #expect(
            delta(.consume, "-3", relieved: "2", value: "-6") == PositionDelta(onHand: -3, allocated: -2, value: -6))
        #expect(
            delta(.reverseConsume, "3", relieved: "2", value: "6") == PositionDelta(onHand: 3, allocated: 2, value: 6))
        #expect(delta(.produce, "3", relieved: "1", value: "30") == PositionDelta(onHand: 3, onOrder: -1, value: 30))
        #expect(
            delta(.reverseProduce, "-3", relieved: "1", value: "-30")
                == PositionDelta(onHand: -3, onOrder: 1, value: -30))
        #expect(delta(.adjust, "-3", value: "-6") == PositionDelta(onHand: -3, value: -6))
        #expect(delta(.transfer, "3", value: "6") == PositionDelta(onHand: 3, value: 6))
    }
}
