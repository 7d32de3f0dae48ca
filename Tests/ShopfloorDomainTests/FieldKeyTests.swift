import ShopfloorDomain
import Testing

/// Rule 5's field keys are typed; their stored form reads back as the same key, and nothing else reads as a key.
@Suite struct FieldKeyTests {
    @Test(arguments: [
        (FieldKey.item(sku: "STEEL"), "item:STEEL"), (.bom(parent: "CHAIR"), "bom:CHAIR"),
        (.orderCost(order: "PO-r1-7", sku: "CHAIR"), "order:PO-r1-7:cost:CHAIR"),
        (.orderDue(order: "PO-1~r2"), "order:PO-1~r2:due"), (.orderNotes(order: "WO-1"), "order:WO-1:notes"),
        (.orderTolerance(order: "WO-1"), "order:WO-1:tolerance"),
    ])
    func storedFormReadsBack(key: FieldKey, stored: String) {
        #expect(key.rawValue == stored)
        #expect(FieldKey(rawValue: stored) == key)
        if case .orderCost(let order, _) = key { #expect(stored.hasPrefix(FieldKey.orderPrefix(order))) }
    }

    @Test(arguments: [
        "", "item", "item:", "item:A:B", "bom", "bom:", "order:1", "order:1:cost", "order:1:cost:", "order::due",
        "order:1:colour", "x:1",
    ])
    func otherTextIsNoKey(text: String) {
        #expect(FieldKey(rawValue: text) == nil, "\(text)")
    }

    @Test func anEditWritesItsTypedKey() throws {
        var shop = Shop()
        try shop.apply(.addLocation(Location(code: "PLANT")), context: ApplyContext(date: "2026-12-01"))
        try shop.apply(.addItem(Item(sku: "STEEL", kind: .material)), context: ApplyContext(date: "2026-12-01"))
        try shop.apply(.addItem(Item(sku: "CHAIR", kind: .product)), context: ApplyContext(date: "2026-12-01"))
        try shop.apply(
            .setBOM(SetBOM(parent: "CHAIR", lines: [BOMLine(sku: "STEEL", quantity: 2)])),
            context: ApplyContext(date: "2026-12-01"))
        try shop.apply(
            .createOrder(
                CreateOrder(
                    number: "WO-1", kind: .work, location: "PLANT", outputs: [OutputSpec(sku: "CHAIR", quantity: 1)])),
            context: ApplyContext(date: "2026-12-01"))
        try shop.apply(
            .editOrder(EditOrder(order: "WO-1", notes: "rush")),
            context: ApplyContext(operation: "r:9", date: "2026-12-01"))
        #expect(shop.fieldWrites[.orderNotes(order: "WO-1")]?.operation == "r:9")
        #expect(shop.fieldWrites[.bom(parent: "CHAIR")] != nil)
        #expect(shop.fieldWrites[.item(sku: "STEEL")] != nil)
    }
}
