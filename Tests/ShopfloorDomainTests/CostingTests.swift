import Testing

@testable import ShopfloorDomain

/// Moving weighted-average valuation (DESIGN.md §2, Costing), directly and through ``Shop``.
@Suite struct CostingTests {
    func state(_ v: Valuation) -> String { "\(v.quantity) / \(v.value) / \(v.lastRate)" }

    // MARK: Valuation directly

    @Test func firstStockInSetsTheRate() throws {
        var v = Valuation()
        #expect(try v.rate() == .zero)
        #expect(try v.receive(quantity: 10, value: 25) == 25)
        #expect(state(v) == "10 / 25 / 2.5")
        #expect(try v.rate() == amt("2.5"))
    }

    @Test func twoReceiptsBlend() throws {
        var v = Valuation()
        _ = try v.receive(quantity: 100, value: 200)
        #expect(try v.receive(quantity: 50, value: 130) == 130)
        #expect(state(v) == "150 / 330 / 2.2")
        // A third at an awkward price: 330 + 10 = 340 over 153 → 2.222222 (2.2222222…).
        #expect(try v.receive(quantity: 3, value: 10) == 10)
        #expect(state(v) == "153 / 340 / 2.222222")
    }

    /// 3 units worth 10.00, built by blending so the value is exact: 1 @ 4.00 + 2 @ 3.00.
    func threeWorthTen() throws -> Valuation {
        var v = Valuation()
        _ = try v.receive(quantity: 1, value: 4)
        _ = try v.receive(quantity: 2, value: 6)
        #expect(state(v) == "3 / 10 / 3.333333")
        return v
    }

    @Test func consumingToExactlyZeroLeavesNoResidue() throws {
        var v = try threeWorthTen()
        // 10 / 3 = 3.333333; then 6.666667 / 2 = 3.3333335 → 3.333334 (half to even); the last takes what is left.
        #expect(try v.issue(quantity: 1) == amt("-3.333333"))
        #expect(state(v) == "2 / 6.666667 / 3.333333")
        #expect(try v.issue(quantity: 1) == amt("-3.333334"))
        #expect(state(v) == "1 / 3.333333 / 3.333334")
        #expect(try v.issue(quantity: 1) == amt("-3.333333"))
        #expect(v.quantity == .zero && v.value == .zero)
        #expect(v.lastRate == amt("3.333333"))
    }

    @Test func consumingAllAtOnceTakesTheWholeValue() throws {
        var v = try threeWorthTen()
        _ = try v.issue(quantity: 1)
        #expect(try v.issue(quantity: 2) == amt("-6.666667"))
        #expect(v.quantity == .zero && v.value == .zero)
    }

    /// DESIGN.md §2: "Keep the total value". Stock at zero is worth zero, so what comes in is worth exactly what it
    /// brought; multiplying back by the rounded rate (3 × 3.333333 = 9.999999) loses value.
    @Test func receivingIntoEmptyStockKeepsTheIncomingValue() throws {
        var v = Valuation()
        #expect(try v.receive(quantity: 3, value: 10) == 10)
        #expect(v.value == 10)
        var big = Valuation()
        #expect(try big.receive(quantity: 1_000_000, value: amt("12345.678901")) == amt("12345.678901"))
        #expect(big.value == amt("12345.678901"))
    }

    @Test func goingNegativeThenReceiving() throws {
        var v = Valuation()
        _ = try v.receive(quantity: 2, value: 6)
        // Through zero: the 2 on hand leave with their value, the shortfall of 3 at the last rate 3.
        #expect(try v.issue(quantity: 5) == -15)
        #expect(state(v) == "-3 / -9 / 3")
        // Below zero: the last known rate.
        #expect(try v.issue(quantity: 1) == -3)
        #expect(state(v) == "-4 / -12 / 3")
        // Coming in from below zero: the incoming rate applies to the whole remaining stock.
        #expect(try v.receive(quantity: 10, value: 40) == 36)
        #expect(state(v) == "6 / 24 / 4")
        #expect(try v.rate() == 4)
    }

    @Test func receivingFromNegativeToStillNegativeTakesTheIncomingRate() throws {
        var v = Valuation(quantity: -10, value: -20, lastRate: 2)
        // The whole remaining stock is revalued at 5, so the entry's value is negative.
        #expect(try v.receive(quantity: 4, value: 20) == -10)
        #expect(state(v) == "-6 / -30 / 5")
        #expect(try v.rate() == 5)
    }

    @Test func receivingToExactlyZeroZeroesTheValue() throws {
        var v = Valuation(quantity: -4, value: -12, lastRate: 3)
        #expect(try v.receive(quantity: 4, value: 20) == 12)
        #expect(state(v) == "0 / 0 / 5")
    }

    @Test func goingOutAtZeroUsesTheLastKnownRate() throws {
        var v = try threeWorthTen()
        for _ in 0..<3 { _ = try v.issue(quantity: 1) }
        #expect(try v.rate() == amt("3.333333"))
        #expect(try v.issue(quantity: 2) == amt("-6.666666"))
        #expect(state(v) == "-2 / -6.666666 / 3.333333")
    }

    @Test func goingOutWithNoHistoryCostsNothing() throws {
        var v = Valuation()
        #expect(try v.issue(quantity: 5) == .zero)
        #expect(state(v) == "-5 / 0 / 0")
        #expect(try v.receive(quantity: 5, value: 50) == .zero)
        #expect(state(v) == "0 / 0 / 10")
        #expect(try v.receive(quantity: 1, value: 10) == 10)
        #expect(state(v) == "1 / 10 / 10")
    }

    @Test func receivingAtZeroCost() throws {
        var v = Valuation()
        _ = try v.receive(quantity: 10, value: 30)
        #expect(try v.receive(quantity: 10, value: 0) == 0)
        #expect(state(v) == "20 / 30 / 1.5")
    }

    /// Amounts have at most 18 integer digits (that is what parses back from JSON and SQLite); a receipt that would
    /// take the stock past that must be an error, not an amount that cannot be read back.
    @Test func arithmeticOverflowIsAnErrorNotACrash() throws {
        var v = Valuation()
        let big = amt("999999999999999999")
        _ = try v.receive(quantity: big, value: big)
        let before = v
        #expect(throws: AmountError.overflow) { try v.receive(quantity: big, value: big) }
        #expect(v == before, "a failed receive leaves the valuation alone")
    }

    @Test func conservationOverAFixedMix() throws {
        var v = Valuation()
        var sum = Amount.zero
        let moves: [(Bool, String, String)] = [
            (true, "7", "10"), (false, "2", ""), (true, "0.333333", "1"), (false, "5.333333", ""), (false, "1", ""),
            (true, "3", "9.99"), (false, "0.000001", ""), (true, "11", "0"), (false, "13.999999", ""), (false, "2", ""),
            (true, "2", "7.77"),
        ]
        for (incoming, quantity, value) in moves {
            sum +=
                incoming
                ? try v.receive(quantity: amt(quantity), value: amt(value)) : try v.issue(quantity: amt(quantity))
            #expect(sum == v.value, "after \(quantity)")
        }
        // The last receipt comes into -3: the remaining -1 takes its rate 3.885.
        #expect(v.quantity == -1 && v.value == amt("-3.885"))
    }

    // MARK: Through the shop

    static func shop() throws -> ShopDriver {
        var d = ShopDriver()
        try d.run([.location("A"), .location("B"), .location("C"), .item("S", .material)])
        return d
    }

    func expectConservation(_ d: ShopDriver, sourceLocation: SourceLocation = #_sourceLocation) {
        for (key, valuation) in d.shop.valuations {
            let entries = d.entries.filter { $0.sku == key.sku && $0.location == key.location }
            let value = entries.reduce(Amount.zero) { $0 + ($1.value ?? .zero) }
            let quantity = entries.filter(\.event.movesStock).reduce(Amount.zero) { $0 + $1.quantity }
            #expect(value == valuation.value, "\(key.sku)@\(key.location) value", sourceLocation: sourceLocation)
            #expect(
                quantity == valuation.quantity, "\(key.sku)@\(key.location) quantity", sourceLocation: sourceLocation)
            #expect(d.shop.positions[key]?.value == valuation.value, sourceLocation: sourceLocation)
            #expect(d.shop.positions[key]?.onHand == valuation.quantity, sourceLocation: sourceLocation)
        }
    }

    @Test func shopResidueGoesToTheEntryThatEmptiesTheStock() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "3", cost: "3.333333"))
        try d.run(.adjust("S", "A", "0.000001", cost: "1"))
        // 9.999999 + 0.000001 = 10 for 3.000001 units.
        #expect(d.valuation("S", "A").value == 10)
        // 10 / 3.000001 = 3.3333322… → 3.333332; 0.000001 of it rounds to 0.000003.
        #expect(try d.run(.adjust("S", "A", "-0.000001")).first?.value == amt("-0.000003"))
        var values: [Amount] = []
        for _ in 0..<3 { values += try d.run(.adjust("S", "A", "-1")).compactMap(\.value) }
        // 9.999997 / 3 = 3.333332 (3.3333323…), then 6.666665 / 2 = 3.3333325 → 3.333332 (half to even), then the rest.
        #expect(values == [amt("-3.333332"), amt("-3.333332"), amt("-3.333333")])
        #expect(d.valuation("S", "A").value == .zero)
        #expect(d.position("S", "A").value == .zero && d.position("S", "A").onHand == .zero)
        expectConservation(d)
    }

    @Test func shopThreeUnitsWorthTenGoOneByOne() throws {
        var d = try Self.shop()
        // 3 units worth 10.00: blend 1 @ 4 and 2 @ 3.
        try d.run(.adjust("S", "A", "1", cost: "4"))
        try d.run(.adjust("S", "A", "2", cost: "3"))
        #expect(d.valuation("S", "A").value == 10)
        var out: [LedgerEntry] = []
        for _ in 0..<3 { out += try d.run(.adjust("S", "A", "-1")) }
        #expect(out.map(\.value) == [amt("-3.333333"), amt("-3.333334"), amt("-3.333333")])
        #expect(out.map(\.unitCost) == [amt("3.333333"), amt("3.333334"), amt("3.333333")])
        #expect(d.valuation("S", "A").value == .zero)
        expectConservation(d)
    }

    @Test func shopNegativeStockThenReceipt() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "2", cost: "3"))
        let out = try d.run(.adjust("S", "A", "-5"))
        #expect(out.first?.value == -15 && out.first?.unitCost == 3)
        #expect(d.position("S", "A").onHand == -3 && d.position("S", "A").value == -9)
        let back = try d.run(.adjust("S", "A", "10", cost: "4"))
        // The incoming rate applies to the whole stock: 7 × 4 = 28, so the entry is worth 28 + 9.
        #expect(back.first?.value == 37 && back.first?.unitCost == 4)
        #expect(d.position("S", "A").onHand == 7 && d.position("S", "A").value == 28)
        // In without a cost at negative stock uses the last known rate.
        try d.run(.adjust("S", "A", "-9"))
        let noCost = try d.run(.adjust("S", "A", "1"))
        #expect(noCost.first?.unitCost == 4 && noCost.first?.value == 4)
        #expect(d.position("S", "A").onHand == -1 && d.position("S", "A").value == -4)
        expectConservation(d)
    }

    @Test func transferCarriesTheSourceRate() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "3", cost: "3.333333"))
        try d.run(.adjust("S", "A", "0.000003", cost: "0.333333"))
        // A: 3.000003 units worth 10.000000 - 0.000001 + 0.000001 = 10.
        try d.run(.adjust("S", "B", "1", cost: "10"))
        let first = try d.run(.transfer("S", "1", from: "A", to: "B"))
        // 10 / 3.000003 = 3.333330 (3.33333000…); B blends it with its own stock.
        #expect(first.map(\.unitCost) == [amt("3.33333"), amt("3.33333")])
        #expect(first.map(\.value) == [amt("-3.33333"), amt("3.33333")])
        #expect(d.valuation("S", "B").value == amt("13.33333"))
        #expect(try d.valuation("S", "B").rate() == amt("6.666665"))
        // Moving everything left empties A exactly; B receives A's whole remaining value.
        let rest = try d.run(.transfer("S", "2.000003", from: "A", to: "B"))
        #expect(rest.map(\.value) == [amt("-6.66667"), amt("6.66667")])
        #expect(d.valuation("S", "A").quantity == .zero && d.valuation("S", "A").value == .zero)
        #expect(d.valuation("S", "B").value == 20 && d.valuation("S", "B").quantity == amt("4.000003"))
        expectConservation(d)
    }

    @Test func transferIntoNegativeStockTakesTheSourceRate() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "10", cost: "2"))
        try d.run(.adjust("S", "B", "1", cost: "7"))
        try d.run(.adjust("S", "B", "-3"))
        #expect(d.valuation("S", "B").value == -14)
        let moved = try d.run(.transfer("S", "5", from: "A", to: "B"))
        // B comes from -2 to 3 at the incoming (source) rate 2: worth 6, so the entry is 6 + 14.
        #expect(moved.map(\.value) == [-10, 20])
        #expect(moved.map(\.unitCost) == [2, 2])
        #expect(d.valuation("S", "B").value == 6)
        expectConservation(d)
    }

    @Test func transferFromEmptySourceUsesItsLastRate() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "2", cost: "2.5"))
        try d.run(.adjust("S", "A", "-2"))
        let moved = try d.run(.transfer("S", "4", from: "A", to: "C"))
        #expect(moved.map(\.value) == [-10, 10])
        #expect(d.position("S", "A").onHand == -4 && d.position("S", "A").value == -10)
        #expect(d.position("S", "C").onHand == 4 && d.position("S", "C").value == 10)
        expectConservation(d)
    }

    @Test func transferIntoAnEmptyLocationKeepsTheValue() throws {
        var d = try Self.shop()
        try d.run([.adjust("S", "A", "1", cost: "4"), .adjust("S", "A", "2", cost: "3")])
        let moved = try d.run(.transfer("S", "3", from: "A", to: "B"))
        // A transfer moves value; it must not create or destroy any (10 out of A, 10 into B).
        #expect(moved.map(\.value) == [-10, 10])
        #expect(d.valuation("S", "B").value == 10)
        expectConservation(d)
    }

    @Test func productIntoEmptyStockCarriesTheWholeMaterialValue() throws {
        var d = try Self.shop()
        try d.run([
            .item("P", .product), .bom("P", [("S", "1")]),
            .adjust("S", "A", "1", cost: "4"), .adjust("S", "A", "2", cost: "3"),
            .create("O", .production, at: "A", [("P", "3", "0")]), .enter("O"), .start("O"),
        ])
        let written = try d.run(.receive("O", "R1", [("P", "3")]))
        // Production cost 0 + material 10: the three P are worth exactly what went into them.
        #expect(written.map(\.value) == [-10, 10])
        #expect(d.valuation("P", "A").value == 10)
    }

    @Test func stockBeyondEighteenDigitsIsRefused() throws {
        var d = try Self.shop()
        try d.run(.adjust("S", "A", "999999999999999999", cost: "0"))
        d.refuse(.adjust("S", "A", "999999999999999999", cost: "0"), .arithmetic(.overflow))
    }

    @Test func productionCostFollowsTheMovingAverageOfInputs() throws {
        var d = try Self.shop()
        try d.run([
            .item("P", .product), .bom("P", [("S", "3")]),
            .adjust("S", "A", "2", cost: "1"), .adjust("S", "A", "1", cost: "2"),
            .create("O", .production, at: "A", [("P", "2", "0.5")]), .enter("O"), .start("O"),
        ])
        // S: 3 units worth 4 (rate 1.333333). The first P takes 3 S: everything, so exactly 4.
        let first = try d.run(.receive("O", "R1", [("P", "1")]))
        #expect(first.map(\.value) == [-4, amt("4.5")])
        // S is now at zero with last rate 1.333333; the second P drives it to -3 at that rate.
        let second = try d.run(.receive("O", "R2", [("P", "1")]))
        #expect(second.map(\.value) == [amt("-3.999999"), amt("4.499999")])
        #expect(d.position("S", "A").onHand == -3)
        #expect(d.position("P", "A").value == amt("8.999999"))
        expectConservation(d)
    }
}
