import Testing

@testable import ShopfloorDomain

/// The two policies, directly and through ``Shop``: what local validation refuses, the merge rules keep and flag.
@Suite struct ApplyPolicyTests {
    static let merged = ApplyContext(operation: "b:1", date: "2026-12-01", mode: .merge, author: "b")

    /// A chair made of steel, with steel in stock and order PO-1 in production; written by no operation.
    static func shop() throws -> Shop {
        var d = ShopDriver()
        d.context = ApplyContext(date: "2026-11-22")
        try d.run([
            .location("PLANT"), .item("STEEL", .material), .item("CHAIR", .product), .bom("CHAIR", [("STEEL", "2")]),
            .adjust("STEEL", "PLANT", "100", cost: "1"), .create("PO-1", .work, at: "PLANT", [("CHAIR", "5", "3")]),
            .enter("PO-1"), .start("PO-1"),
        ])
        return d.shop
    }

    @Test func localValidationThrowsTheRefusal() {
        #expect(throws: DomainError.duplicateOrder("PO-1")) { try LocalValidation().tolerate(.duplicateOrder("PO-1")) }
        #expect(!LocalValidation().keepsFirstDefinition)
        #expect(!LocalValidation().reportsUnseenReceipts)
    }

    @Test func mergeRulesTolerateWithoutBuildingTheRefusal() throws {
        var built = 0
        func refusal() -> DomainError {
            built += 1
            return .duplicateOrder("PO-1")
        }
        try MergeRules().tolerate(refusal())
        #expect(built == 0)
        #expect(MergeRules().keepsFirstDefinition)
        #expect(MergeRules().reportsUnseenReceipts)
    }

    @Test func onlyLocalValidationChecksBounds() throws {
        let command = Command.item(SKU(String(repeating: "S", count: Bounds.codeMax + 1)), .material)
        #expect(throws: DomainError.self) { try LocalValidation().admit(command) }
        try MergeRules().admit(command)
    }

    @Test func aDuplicateOrderNumberIsRefusedLocallyAndRenamedWhenMerged() throws {
        var shop = try Self.shop()
        let create = Command.create("PO-1", .work, at: "PLANT", [("CHAIR", "1", nil)])
        #expect(throws: DomainError.duplicateOrder("PO-1")) { try shop.apply(create, context: testDay) }
        try shop.apply(create, context: Self.merged)
        #expect(shop.orders["PO-1~b"] != nil)
        #expect(shop.lastConflicts.map(\.kind) == [.duplicateNumber])
    }

    @Test func aReceiptOnAClosedOrderIsRefusedLocallyAndKeptWhenMerged() throws {
        var shop = try Self.shop()
        try shop.apply(.complete("PO-1"), context: testDay)
        let receipt = Command.receive("PO-1", "R-1", [("CHAIR", "1")])
        #expect(throws: DomainError.self) { try shop.apply(receipt, context: testDay) }
        try shop.apply(receipt, context: Self.merged)
        #expect(shop.orders["PO-1"]?.receipts.map(\.id) == ["R-1"])
        #expect(shop.lastConflicts.map(\.kind) == [.receiptAfterClose])
    }

    @Test func anOverReceiptIsRefusedLocallyAndFlaggedWhenMerged() throws {
        var shop = try Self.shop()
        let receipt = Command.receive("PO-1", "R-1", [("CHAIR", "6")])
        #expect(throws: DomainError.self) { try shop.apply(receipt, context: testDay) }
        try shop.apply(receipt, context: Self.merged)
        #expect(shop.orders["PO-1"]?.lines[0].produced == amt("6"))
        #expect(shop.lastConflicts.map(\.kind) == [.overReceipt])
    }

    /// No operation (nil) is written as "" wherever a conflict names one, as when the context held a `String`: the
    /// id still hashes `kind||subject` and the operation list still holds "".
    @Test func noOperationIsTheEmptyStringInConflicts() throws {
        var shop = try Self.shop()
        var merged = Self.merged
        merged.operation = nil
        try shop.apply(.create("PO-1", .work, at: "PLANT", [("CHAIR", "1", nil)]), context: merged)
        let conflict = try #require(shop.lastConflicts.first)
        #expect(conflict.id == Conflict.makeID("duplicate-number||PO-1"))
        #expect(conflict.operations == ["", ""])
        #expect(shop.orders["PO-1~b"]?.createdBy == nil)
    }
}
