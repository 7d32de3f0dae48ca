import ShopfloorDomain

/// The small world every replica draws from, so that devices keep touching the same things.
enum SimulationCatalog {
    static let items: [Item] = [
        Item(sku: "STEEL", kind: .material, unit: "kg"),
        Item(sku: "BOLT", kind: .material, unit: "ea"),
        Item(sku: "PAINT", kind: .material, unit: "l"),
        Item(sku: "WOOD", kind: .material, unit: "m"),
        Item(sku: "FRAME", kind: .component),
        Item(sku: "SEAT", kind: .component),
        Item(sku: "CHAIR", kind: .product),
        Item(sku: "STOOL", kind: .product),
    ]

    /// A second definition of some SKUs, so two devices can add the same SKU differently (rule 5 for adds).
    static let variants: [Item] = [
        Item(sku: "STEEL", kind: .material, unit: "t"),
        Item(sku: "SEAT", kind: .product),
        Item(sku: "BOLT", kind: .component),
    ]

    static let locations = ["PLANT", "WIP", "STORE"]

    /// The BOMs a planner would set; random edits replace them (and may make cycles across devices).
    static let boms: [(SKU, [BOMLine])] = [
        ("FRAME", [BOMLine(sku: "STEEL", quantity: hundredths(250)), BOMLine(sku: "BOLT", quantity: 4)]),
        ("SEAT", [BOMLine(sku: "WOOD", quantity: hundredths(120)), BOMLine(sku: "BOLT", quantity: 2)]),
        (
            "CHAIR",
            [
                BOMLine(sku: "FRAME", quantity: 1), BOMLine(sku: "SEAT", quantity: 1),
                BOMLine(sku: "PAINT", quantity: hundredths(20)), BOMLine(sku: "BOLT", quantity: 2),
            ]
        ),
        ("STOOL", [BOMLine(sku: "SEAT", quantity: 1), BOMLine(sku: "STEEL", quantity: hundredths(150))]),
    ]

    static let producible: [SKU] = ["FRAME", "SEAT", "CHAIR", "STOOL"]
    static let stocked: [SKU] = ["STEEL", "BOLT", "PAINT", "WOOD", "FRAME", "SEAT"]

    /// Numbers typed by hand on several devices (rule 7), instead of the per-device default numbers.
    static let typedOrderNumbers: [OrderNumber] = ["SO-1", "SO-2", "SO-3"]
    static let typedReceiptIDs = ["RX-1", "RX-2", "RX-3"]

    /// A SKU no replica ever has: the poison in an all-or-nothing batch.
    static let ghost: SKU = "GHOST"
}

/// `n` hundredths as an exact amount.
func hundredths(_ n: Int) -> Amount {
    // |n| stays far below the 18-digit limit, so this cannot overflow.
    try! Amount.fromUnits(Int128(n) * 10_000)
}
