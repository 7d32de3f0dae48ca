import Testing

@testable import ShopfloorDomain

/// One-level and full BOM explosion, and BOM validation.
///
/// PRODUCT = 2 SUB-A + 1.5 SUB-B + 0.25 M1
/// SUB-A   = 3 SUB-C + 0.5 M2
/// SUB-B   = 2 SUB-C + 1.2 M1
/// SUB-C   = 0.75 M2 + 4 M3
/// SUB-C is shared by SUB-A and SUB-B; M1 and M2 appear at several levels.
@Suite struct ExplosionTests {
    static func catalog() throws -> Catalog {
        var c = Catalog()
        for sku: SKU in ["M1", "M2", "M3"] { try c.add(Item(sku: sku, kind: .material, unit: "kg")) }
        for sku: SKU in ["SUB-A", "SUB-B", "SUB-C"] { try c.add(Item(sku: sku, kind: .component)) }
        try c.add(Item(sku: "PRODUCT", kind: .product))
        try c.setBOM("SUB-C", lines: [BOMLine(sku: "M2", quantity: amt("0.75")), BOMLine(sku: "M3", quantity: 4)])
        try c.setBOM("SUB-B", lines: [BOMLine(sku: "SUB-C", quantity: 2), BOMLine(sku: "M1", quantity: amt("1.2"))])
        try c.setBOM("SUB-A", lines: [BOMLine(sku: "SUB-C", quantity: 3), BOMLine(sku: "M2", quantity: amt("0.5"))])
        try c.setBOM(
            "PRODUCT",
            lines: [
                BOMLine(sku: "SUB-B", quantity: amt("1.5")), BOMLine(sku: "M1", quantity: amt("0.25")),
                BOMLine(sku: "SUB-A", quantity: 2),
            ])
        return c
    }

    func lines(_ pairs: [(String, String)]) -> [BOMLine] { pairs.map { BOMLine(sku: SKU($0.0), quantity: amt($0.1)) } }

    @Test func bomLinesAreStoredSortedBySKU() throws {
        let c = try Self.catalog()
        #expect(c.boms["PRODUCT"] == lines([("M1", "0.25"), ("SUB-A", "2"), ("SUB-B", "1.5")]))
        #expect(c.boms["SUB-B"] == lines([("M1", "1.2"), ("SUB-C", "2")]))
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var sku: SKU
        var quantity: String
        var levels: ExplosionLevels
        var expected: [(String, String)]
        var testDescription: String { "\(levels.rawValue) explosion of \(quantity) \(sku)" }
    }

    @Test(arguments: [
        Case(
            sku: "PRODUCT", quantity: "10", levels: .one, expected: [("M1", "2.5"), ("SUB-A", "20"), ("SUB-B", "15")]),
        // SUB-A 20 → SUB-C 60 → M2 45, M3 240; M2 10.  SUB-B 15 → SUB-C 30 → M2 22.5, M3 120; M1 18.  M1 2.5.
        Case(sku: "PRODUCT", quantity: "10", levels: .full, expected: [("M1", "20.5"), ("M2", "77.5"), ("M3", "360")]),
        Case(sku: "PRODUCT", quantity: "1", levels: .full, expected: [("M1", "2.05"), ("M2", "7.75"), ("M3", "36")]),
        Case(
            sku: "PRODUCT", quantity: "0.1", levels: .full, expected: [("M1", "0.205"), ("M2", "0.775"), ("M3", "3.6")]),
        Case(
            sku: "PRODUCT", quantity: "0.1", levels: .one,
            expected: [("M1", "0.025"), ("SUB-A", "0.2"), ("SUB-B", "0.15")]),
        Case(sku: "SUB-A", quantity: "1", levels: .one, expected: [("M2", "0.5"), ("SUB-C", "3")]),
        Case(sku: "SUB-A", quantity: "1", levels: .full, expected: [("M2", "2.75"), ("M3", "12")]),
        Case(sku: "SUB-B", quantity: "3", levels: .full, expected: [("M1", "3.6"), ("M2", "4.5"), ("M3", "24")]),
        Case(sku: "SUB-C", quantity: "2", levels: .one, expected: [("M2", "1.5"), ("M3", "8")]),
        Case(sku: "SUB-C", quantity: "2", levels: .full, expected: [("M2", "1.5"), ("M3", "8")]),
        // Rounded to six places at each level: 0.000001 × 0.75 → 0.000001; 0.000002 × 0.75 = 0.0000015 → 0.000002 (half to even).
        Case(sku: "SUB-C", quantity: "0.000001", levels: .full, expected: [("M2", "0.000001"), ("M3", "0.000004")]),
        Case(sku: "SUB-C", quantity: "0.000002", levels: .full, expected: [("M2", "0.000002"), ("M3", "0.000008")]),
        // SUB-A 0.000001: SUB-C 0.000003 → M2 0.00000225 → 0.000002, plus M2 0.0000005 → 0 (half to even).
        Case(sku: "SUB-A", quantity: "0.000001", levels: .full, expected: [("M2", "0.000002"), ("M3", "0.000012")]),
    ])
    func explodes(_ c: Case) throws {
        let result = try Self.catalog().explode(c.sku, quantity: amt(c.quantity), levels: c.levels)
        #expect(result == lines(c.expected))
        #expect(result.map(\.sku) == result.map(\.sku).sorted())
        #expect(Set(result.map(\.sku)).count == result.count, "aggregated: one line per SKU")
    }

    @Test func orderKindsPickTheirExplosion() {
        #expect(OrderKind.work.explosion == .one)
        #expect(OrderKind.production.explosion == .full)
    }

    @Test func explosionRefusals() throws {
        let c = try Self.catalog()
        #expect(throws: DomainError.noBOM("M1")) { try c.explode("M1", quantity: 1, levels: .full) }
        #expect(throws: DomainError.unknownItem("NOPE")) { try c.explode("NOPE", quantity: 1, levels: .one) }
        let huge = amt("999999999999999999")
        #expect(throws: DomainError.arithmetic(.overflow)) { try c.explode("PRODUCT", quantity: huge, levels: .full) }
    }

    @Test func ordersSnapshotTheirExplosionAtEnter() throws {
        var d = ShopDriver()
        try d.run(.location("PLANT"))
        for sku: SKU in ["M1", "M2", "M3"] { try d.run(.item(sku, .material)) }
        for sku: SKU in ["SUB-A", "SUB-B", "SUB-C"] { try d.run(.item(sku, .component)) }
        try d.run([
            .item("PRODUCT", .product),
            .bom("SUB-C", [("M2", "0.75"), ("M3", "4")]),
            .bom("SUB-B", [("SUB-C", "2"), ("M1", "1.2")]),
            .bom("SUB-A", [("SUB-C", "3"), ("M2", "0.5")]),
            .bom("PRODUCT", [("SUB-A", "2"), ("SUB-B", "1.5"), ("M1", "0.25")]),
            .create("PO", .production, at: "PLANT", [("PRODUCT", "10", "1")]),
            .create("WO", .work, at: "PLANT", [("PRODUCT", "10", "1"), ("SUB-C", "4", "1")]),
            .enter("PO"), .enter("WO"),
        ])
        #expect(try d.shop.order("PO").lines[0].inputs == lines([("M1", "20.5"), ("M2", "77.5"), ("M3", "360")]))
        let work = try d.shop.order("WO")
        #expect(work.lines[0].inputs == lines([("M1", "2.5"), ("SUB-A", "20"), ("SUB-B", "15")]))
        #expect(work.lines[1].inputs == lines([("M2", "3"), ("M3", "16")]))
        #expect(
            work.inputs.map { "\($0.sku) \($0.required)" } == ["M1 2.5", "M2 3", "M3 16", "SUB-A 20", "SUB-B 15"])
        #expect(d.position("M2", "PLANT").demand == amt("80.5"))
    }

    // MARK: Validation

    @Test func bomValidationErrors() throws {
        var c = try Self.catalog()
        let before = c
        func refuse(
            _ parent: SKU, _ pairs: [(String, String)], _ expected: DomainError,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(throws: expected, sourceLocation: sourceLocation) { try c.setBOM(parent, lines: lines(pairs)) }
            #expect(c == before, "a refused BOM changes nothing", sourceLocation: sourceLocation)
        }
        refuse("SUB-C", [("M2", "1"), ("NOPE", "1")], .unknownItem("NOPE"))
        refuse("NOPE", [("M2", "1")], .unknownItem("NOPE"))
        refuse("SUB-C", [("M2", "0")], .nonPositiveQuantity(context: "BOM of SUB-C, line M2", quantity: 0))
        refuse("SUB-C", [("M2", "-0.5")], .nonPositiveQuantity(context: "BOM of SUB-C, line M2", quantity: amt("-0.5")))
        refuse("SUB-C", [("M2", "1"), ("SUB-C", "1")], .bomListsItself("SUB-C"))
        refuse("SUB-C", [("M2", "1"), ("M3", "1"), ("M2", "2")], .duplicateBOMLine(parent: "SUB-C", sku: "M2"))
        refuse("M1", [("M2", "1")], .materialCannotHaveBOM("M1"))
        refuse("SUB-C", [], .emptyBOM("SUB-C"))
        // SUB-C is below PRODUCT, SUB-A and SUB-B: none of them may go under it.
        refuse("SUB-C", [("M2", "1"), ("PRODUCT", "1")], .bomCycle(["SUB-C", "PRODUCT", "SUB-A", "SUB-C"]))
        refuse("SUB-C", [("SUB-B", "1")], .bomCycle(["SUB-C", "SUB-B", "SUB-C"]))
        refuse("SUB-A", [("PRODUCT", "1")], .bomCycle(["SUB-A", "PRODUCT", "SUB-A"]))

        #expect(DomainError.bomListsItself("X").description == "the BOM of 'X' lists 'X' itself")
        #expect(
            DomainError.duplicateBOMLine(parent: "P", sku: "M").description
                == "the BOM of 'P' lists 'M' twice: give one line with the total")
        #expect(
            DomainError.materialCannotHaveBOM("M1").description
                == "'M1' is a material and cannot have a BOM; make it a component or product")
    }

    @Test func threeLinkCycleNamesTheLoop() throws {
        var c = Catalog()
        for sku: SKU in ["A", "B", "C"] { try c.add(Item(sku: sku, kind: .component)) }
        try c.add(Item(sku: "M", kind: .material))
        try c.setBOM("A", lines: [BOMLine(sku: "B", quantity: 1)])
        try c.setBOM("B", lines: [BOMLine(sku: "C", quantity: 1)])
        let before = c
        do {
            try c.setBOM("C", lines: [BOMLine(sku: "M", quantity: 1), BOMLine(sku: "A", quantity: 2)])
            Issue.record("a cycle was accepted")
        } catch {
            #expect(error == .bomCycle(["C", "A", "B", "C"]))
            #expect(error.description == "BOM cycle: C → A → B → C; remove one of these links")
        }
        #expect(c == before)
        #expect(c.boms["C"] == nil)
        // Breaking a link lets the same line in.
        try c.setBOM("B", lines: [BOMLine(sku: "M", quantity: 1)])
        try c.setBOM("C", lines: [BOMLine(sku: "M", quantity: 1), BOMLine(sku: "A", quantity: 2)])
        #expect(try c.explode("C", quantity: 1, levels: .full) == [BOMLine(sku: "M", quantity: 3)])
    }

    @Test func cycleThroughADiamondNamesOnePath() throws {
        var c = Catalog()
        for sku: SKU in ["A", "B", "C", "D"] { try c.add(Item(sku: sku, kind: .component)) }
        try c.add(Item(sku: "M", kind: .material))
        try c.setBOM("A", lines: [BOMLine(sku: "C", quantity: 1), BOMLine(sku: "B", quantity: 1)])
        try c.setBOM("B", lines: [BOMLine(sku: "D", quantity: 1)])
        try c.setBOM("C", lines: [BOMLine(sku: "D", quantity: 1)])
        try c.setBOM("D", lines: [BOMLine(sku: "M", quantity: 1)])
        // A reaches D twice (through B and C); the full explosion sums both paths.
        #expect(try c.explode("A", quantity: 1, levels: .full) == [BOMLine(sku: "M", quantity: 2)])
        #expect(throws: DomainError.bomCycle(["D", "A", "B", "D"])) {
            try c.setBOM("D", lines: [BOMLine(sku: "A", quantity: 1)])
        }
        #expect(throws: DomainError.bomCycle(["D", "B", "D"])) {
            try c.setBOM("D", lines: [BOMLine(sku: "M", quantity: 1), BOMLine(sku: "B", quantity: 1)])
        }
        // Replacing a BOM is not a cycle with its own old lines.
        try c.setBOM("B", lines: [BOMLine(sku: "C", quantity: 1)])
        #expect(try c.explode("A", quantity: 1, levels: .full) == [BOMLine(sku: "M", quantity: 2)])
        #expect(
            try c.explode("A", quantity: 1, levels: .one) == [
                BOMLine(sku: "B", quantity: 1), BOMLine(sku: "C", quantity: 1),
            ])
    }

    @Test func catalogRefusals() throws {
        var c = Catalog()
        try c.add(Item(sku: "ok-1_x./y", kind: .material))
        try c.add(Item(sku: "Stahl-Ä", kind: .material))
        #expect(throws: DomainError.duplicateItem("ok-1_x./y")) { try c.add(Item(sku: "ok-1_x./y", kind: .product)) }
        #expect(throws: DomainError.invalidCode(what: "SKU", code: "")) { try c.add(Item(sku: "", kind: .material)) }
        #expect(throws: DomainError.invalidCode(what: "SKU", code: "a b")) {
            try c.add(Item(sku: "a b", kind: .material))
        }
        let long = String(repeating: "x", count: 65)
        #expect(throws: DomainError.invalidCode(what: "SKU", code: long)) {
            try c.add(Item(sku: SKU(long), kind: .material))
        }
        try c.add(Item(sku: SKU(String(repeating: "x", count: 64)), kind: .material))
        #expect(throws: DomainError.invalidCode(what: "unit of measure", code: "")) {
            try c.add(Item(sku: "U", kind: .material, unit: ""))
        }
        try c.add(Location(code: "PLANT"))
        #expect(throws: DomainError.duplicateLocation("PLANT")) { try c.add(Location(code: "PLANT")) }
        #expect(throws: DomainError.invalidCode(what: "location code", code: "PL:1")) {
            try c.add(Location(code: "PL:1"))
        }
        #expect(throws: DomainError.unknownLocation("WH")) { try c.requireLocation("WH") }
        try c.requireLocation("PLANT")
        #expect(throws: DomainError.unknownItem("Z")) { try c.item("Z") }
        #expect(c.items.count == 3)
    }
}
