import Testing

@testable import ShopfloorDomain

/// The transition table, directly and through ``Shop``.
@Suite struct LifecycleTests {
    // MARK: The table itself

    /// The published table: next state for every allowed (status, event) when the order is not fully received.
    static let table: [OrderStatus: [OrderEvent: OrderStatus]] = [
        .draft: [.enter: .entered, .cancel: .cancelled, .edit: .draft],
        .entered: [.start: .production, .complete: .completed, .cancel: .cancelled, .edit: .entered],
        .production: [
            .receive: .production, .voidReceipt: .production, .complete: .completed, .cancel: .cancelled,
            .edit: .production,
        ],
        .received: [.receive: .production, .voidReceipt: .production, .complete: .completed],
        .completed: [:],
        .cancelled: [:],
    ]

    static let allowedInOrder: [OrderStatus: [OrderEvent]] = [
        .draft: [.enter, .cancel, .edit],
        .entered: [.start, .complete, .cancel, .edit],
        .production: [.receive, .voidReceipt, .complete, .cancel, .edit],
        .received: [.receive, .voidReceipt, .complete],
        .completed: [],
        .cancelled: [],
    ]

    @Test(arguments: OrderStatus.allCases, OrderEvent.allCases)
    func everyStatusEventPair(status: OrderStatus, event: OrderEvent) throws {
        let lifecycle = OrderLifecycle(status: status)
        if let next = Self.table[status]![event] {
            #expect(try lifecycle.next(event, order: "PO-9") == next)
            // Receipts and voids land in Received when everything is in; other events ignore the flag.
            let fullyNext: OrderStatus = (event == .receive || event == .voidReceipt) ? .received : next
            #expect(try lifecycle.next(event, order: "PO-9", fullyReceived: true) == fullyNext)
            var handled = lifecycle
            try handled.handle(event, order: "PO-9")
            #expect(handled.status == next)
            #expect(OrderLifecycle.allowedFrom(event).contains(status))
        } else {
            let allowed = Self.allowedInOrder[status]!
            let expected = DomainError.forbiddenTransition(
                order: "PO-9", status: status, event: event, allowed: allowed)
            #expect(throws: expected) { try lifecycle.next(event, order: "PO-9") }
            #expect(throws: expected) { try lifecycle.next(event, order: "PO-9", fullyReceived: true) }
            var handled = lifecycle
            #expect(throws: expected) { try handled.handle(event, order: "PO-9") }
            #expect(handled.status == status, "a refused event leaves the state alone")
            #expect(!OrderLifecycle.allowedFrom(event).contains(status))
            let description = expected.description
            #expect(description.hasPrefix("order 'PO-9' is \(status.rawValue): cannot \(event.rawValue); allowed: "))
            if allowed.isEmpty {
                #expect(description.hasSuffix("allowed: nothing (the order is closed)"))
            } else {
                for name in allowed.map(\.rawValue) { #expect(description.contains(name)) }
            }
        }
    }

    @Test(arguments: OrderStatus.allCases)
    func allowedEventsAreListedInTableOrder(status: OrderStatus) {
        #expect(OrderLifecycle.allowedEvents(in: status) == Self.allowedInOrder[status]!)
        #expect(status.isClosed == (status == .completed || status == .cancelled))
    }

    @Test func refusalMessagesReadWell() {
        func message(_ status: OrderStatus, _ event: OrderEvent) -> String {
            do {
                _ = try OrderLifecycle(status: status).next(event, order: "WO-7")
                return "allowed"
            } catch {
                return error.description
            }
        }
        #expect(message(.draft, .start) == "order 'WO-7' is Draft: cannot start; allowed: enter, cancel, edit")
        #expect(
            message(.entered, .receive)
                == "order 'WO-7' is Entered: cannot receive; allowed: start, complete, cancel, edit")
        #expect(
            message(.production, .enter)
                == "order 'WO-7' is Production: cannot enter; allowed: receive, void-receipt, complete, cancel, edit")
        #expect(
            message(.received, .cancel)
                == "order 'WO-7' is Received: cannot cancel; allowed: receive, void-receipt, complete")
        #expect(
            message(.completed, .voidReceipt)
                == "order 'WO-7' is Completed: cannot void-receipt; allowed: nothing (the order is closed)")
        #expect(
            message(.cancelled, .edit)
                == "order 'WO-7' is Cancelled: cannot edit; allowed: nothing (the order is closed)")
        #expect(message(.draft, .enter) == "allowed")
    }

    // MARK: Through the shop

    /// A plant with M (1000 @ 1.00) and P = 2 M; order O makes 10 P at 3.00 with a 10 % tolerance.
    enum Stage: String, CaseIterable, Sendable {
        case draft, entered, production, partlyReceived, received, completed, cancelled

        var commands: [Command] {
            switch self {
            case .draft: []
            case .entered: [.enter("O")]
            case .production: [.enter("O"), .start("O")]
            case .partlyReceived: [.enter("O"), .start("O"), .receive("O", "R1", [("P", "4")])]
            case .received: [.enter("O"), .start("O"), .receive("O", "R1", [("P", "10")])]
            case .completed: [.enter("O"), .start("O"), .receive("O", "R1", [("P", "10")]), .complete("O")]
            case .cancelled: [.cancel("O")]
            }
        }

        var status: OrderStatus {
            switch self {
            case .draft: .draft
            case .entered: .entered
            case .production, .partlyReceived: .production
            case .received: .received
            case .completed: .completed
            case .cancelled: .cancelled
            }
        }
    }

    static func shop(at stage: Stage, cost: String? = "3.00") throws -> ShopDriver {
        var d = ShopDriver()
        try d.run([
            .location("PLANT"), .item("M", .material), .item("P", .product), .bom("P", [("M", "2")]),
            .adjust("M", "PLANT", "1000", cost: "1.00"),
            .create("O", .production, at: "PLANT", tolerance: "10", [("P", "10", cost)]),
        ])
        try d.run(stage.commands)
        #expect(d.status("O") == stage.status)
        return d
    }

    static func forbidden(_ stage: Stage, _ event: OrderEvent) -> DomainError {
        .forbiddenTransition(
            order: "O", status: stage.status, event: event, allowed: OrderLifecycle.allowedEvents(in: stage.status))
    }

    enum Outcome: Equatable {
        case accepted(OrderStatus)
        case refused(DomainError)
    }

    static func expectedTransition(_ stage: Stage, _ action: OrderTransition.Action) -> Outcome {
        switch (stage, action) {
        case (.draft, .enter): .accepted(.entered)
        case (.draft, .cancel), (.entered, .cancel), (.production, .cancel): .accepted(.cancelled)
        case (.entered, .start): .accepted(.production)
        case (.entered, .complete), (.production, .complete), (.partlyReceived, .complete), (.received, .complete):
            .accepted(.completed)
        case (.partlyReceived, .cancel): .refused(.cancelWithReceipts(order: "O", receipts: ["R1"]))
        case (_, .enter): .refused(forbidden(stage, .enter))
        case (_, .start): .refused(forbidden(stage, .start))
        case (_, .complete): .refused(forbidden(stage, .complete))
        case (_, .cancel): .refused(forbidden(stage, .cancel))
        }
    }

    @Test(arguments: Stage.allCases, OrderTransition.Action.allCases)
    func transitionCommandFromEveryStage(stage: Stage, action: OrderTransition.Action) throws {
        var d = try Self.shop(at: stage)
        let command = Command.transition(OrderTransition(order: "O", action: action))
        switch Self.expectedTransition(stage, action) {
        case .accepted(let next):
            try d.run(command)
            #expect(d.status("O") == next)
            let order = try d.shop.order("O")
            if next.isClosed {
                // Closing leaves no commitment behind.
                #expect(order.lines.allSatisfy { $0.onOrder.isZero })
                #expect(order.inputs.allSatisfy { $0.demand.isZero && $0.allocated.isZero })
                let p = d.position("P", "PLANT")
                let m = d.position("M", "PLANT")
                #expect(p.onOrder.isZero && m.demand.isZero && m.allocated.isZero)
            }
        case .refused(let error):
            d.refuse(command, error)
        }
    }

    @Test(arguments: Stage.allCases)
    func receiveFromEveryStage(stage: Stage) throws {
        var d = try Self.shop(at: stage)
        let command = Command.receive("O", "R9", [("P", "1")])
        switch stage {
        case .production, .partlyReceived:
            try d.run(command)
            #expect(d.status("O") == .production)
        case .received:
            // 10 + 1 is within the 10 % tolerance: still Received.
            try d.run(command)
            #expect(d.status("O") == .received)
            #expect(try d.shop.order("O").lines[0].produced == 11)
        case .draft, .entered, .completed, .cancelled:
            d.refuse(command, Self.forbidden(stage, .receive))
        }
    }

    @Test(arguments: Stage.allCases)
    func voidFromEveryStage(stage: Stage) throws {
        var d = try Self.shop(at: stage)
        switch stage {
        case .partlyReceived, .received:
            try d.run(.void("R1"))
            #expect(d.status("O") == .production)
            d.refuse(.void("R1"), .receiptAlreadyVoided("R1"))
        case .completed:
            d.refuse(.void("R1"), Self.forbidden(stage, .voidReceipt))
        case .draft, .entered, .production, .cancelled:
            d.refuse(.void("R1"), .unknownReceipt("R1"))
        }
    }

    @Test(arguments: Stage.allCases)
    func setCostAndEditOnlyWhileOpen(stage: Stage) throws {
        var d = try Self.shop(at: stage)
        let setCost = Command.setCost("O", "P", "4.25")
        let edit = Command.editOrder(EditOrder(order: "O", due: "2026-12-31", notes: "rush", tolerancePercent: 25))
        switch stage {
        case .draft, .entered, .production, .partlyReceived:
            try d.run(setCost)
            try d.run(edit)
            let order = try d.shop.order("O")
            #expect(order.lines[0].unitCost == amt("4.25"))
            #expect(order.due == "2026-12-31" && order.notes == "rush" && order.tolerancePercent == 25)
            #expect(order.status == stage.status)
            // An empty due date clears it; absent fields stay.
            try d.run(.editOrder(EditOrder(order: "O", due: "")))
            #expect(try d.shop.order("O").due == nil)
            #expect(try d.shop.order("O").notes == "rush")
        case .received, .completed, .cancelled:
            d.refuse(setCost, Self.forbidden(stage, .edit))
            d.refuse(edit, Self.forbidden(stage, .edit))
        }
    }

    // MARK: Receipts against the rules

    @Test func cancelIsRefusedWhileReceiptsAreVisible() throws {
        var d = try Self.shop(at: .production)
        try d.run(.receive("O", "R1", [("P", "2")]))
        try d.run(.receive("O", "R2", [("P", "3")]))
        let refusal = DomainError.cancelWithReceipts(order: "O", receipts: ["R1", "R2"])
        d.refuse(.cancel("O"), refusal)
        #expect(
            refusal.description
                == "order 'O' has receipts (R1, R2): void them first, or close it short (complete it)")
        try d.run(.void("R1"))
        d.refuse(.cancel("O"), .cancelWithReceipts(order: "O", receipts: ["R2"]))
        try d.run(.void("R2"))
        let written = try d.run(.cancel("O"))
        #expect(d.status("O") == .cancelled)
        #expect(
            written.map(EntryFigures.init) == [
                EntryFigures(.reverseOrder, "P", "PLANT", "-10", ref: "O"),
                EntryFigures(.reverseAllocate, "M", "PLANT", "-20", ref: "O"),
                EntryFigures(.reverseDemand, "M", "PLANT", "-20", ref: "O"),
            ])
        #expect(d.position("M", "PLANT") == Position.from(d.entries)[StockKey(sku: "M", location: "PLANT")])
        #expect(
            PositionFigures(d.position("M", "PLANT"))
                == PositionFigures(onHand: "1000", available: "1000", projected: "1000", value: "1000"))
        #expect(PositionFigures(d.position("P", "PLANT")) == PositionFigures(available: "0", projected: "0"))
    }

    @Test func closingShortIsTheWayOutWithReceipts() throws {
        var d = try Self.shop(at: .partlyReceived)
        let written = try d.run(.complete("O"))
        #expect(
            written.map(EntryFigures.init) == [
                EntryFigures(.reverseOrder, "P", "PLANT", "-6", ref: "O"),
                EntryFigures(.reverseAllocate, "M", "PLANT", "-12", ref: "O"),
                EntryFigures(.reverseDemand, "M", "PLANT", "-12", ref: "O"),
            ])
        #expect(d.status("O") == .completed)
    }

    @Test func receiptNeedsAUnitCost() throws {
        var d = try Self.shop(at: .production, cost: nil)
        let refusal = DomainError.costNotSet(order: "O", sku: "P")
        d.refuse(.receive("O", "R1", [("P", "1")]), refusal)
        #expect(refusal.description == "order 'O' has no unit cost for 'P': set the line's cost first")
        try d.run(.setCost("O", "P", "0"))
        let written = try d.run(.receive("O", "R1", [("P", "1")]))
        // Zero conversion cost: the product carries the material only.
        #expect(written.last?.value == amt("2"))
    }

    @Test func overReceiptBeyondToleranceIsRefused() throws {
        var d = try Self.shop(at: .production)
        // 10 ordered + 10 % = 11.
        d.refuse(
            .receive("O", "R1", [("P", "11.000001")]),
            .overReceipt(
                order: "O", sku: "P", ordered: 10, received: 0, receiving: amt("11.000001"), tolerancePercent: 10))
        try d.run(.receive("O", "R1", [("P", "6")]))
        d.refuse(
            .receive("O", "R2", [("P", "5.5")]),
            .overReceipt(order: "O", sku: "P", ordered: 10, received: 6, receiving: amt("5.5"), tolerancePercent: 10))
        let written = try d.run(.receive("O", "R2", [("P", "5")]))
        #expect(d.status("O") == .received)
        // The completing receipt takes the remainder (8) plus the over-receipt in proportion (1 × 2).
        #expect(written.first { $0.event == .consume }?.quantity == -10)
        #expect(try d.shop.order("O").lines[0].produced == 11)
        d.refuse(
            .receive("O", "R3", [("P", "0.000001")]),
            .overReceipt(
                order: "O", sku: "P", ordered: 10, received: 11, receiving: amt("0.000001"), tolerancePercent: 10))
        let message = DomainError.overReceipt(
            order: "O", sku: "P", ordered: 10, received: 6, receiving: amt("5.5"), tolerancePercent: 10
        ).description
        #expect(
            message
                == "receiving 5.5 'P' on order 'O' exceeds ordered 10 + 10% (already received 6); receive less or raise the order's tolerance"
        )
    }

    @Test func zeroToleranceAllowsExactlyTheOrderedQuantity() throws {
        var d = try Self.shop(at: .draft)
        try d.run(.editOrder(EditOrder(order: "O", tolerancePercent: 0)))
        try d.run([.enter("O"), .start("O")])
        d.refuse(
            .receive("O", "R1", [("P", "10.000001")]),
            .overReceipt(
                order: "O", sku: "P", ordered: 10, received: 0, receiving: amt("10.000001"), tolerancePercent: 0))
        try d.run(.receive("O", "R1", [("P", "10")]))
        #expect(d.status("O") == .received)
        d.refuse(
            .receive("O", "R2", [("P", "0.000001")]),
            .overReceipt(
                order: "O", sku: "P", ordered: 10, received: 10, receiving: amt("0.000001"), tolerancePercent: 0))
    }

    @Test func raisingTheToleranceInProductionAllowsMore() throws {
        var d = try Self.shop(at: .production)
        d.refuse(
            .receive("O", "R1", [("P", "12")]),
            .overReceipt(order: "O", sku: "P", ordered: 10, received: 0, receiving: 12, tolerancePercent: 10))
        try d.run(.editOrder(EditOrder(order: "O", tolerancePercent: amt("20"))))
        try d.run(.receive("O", "R1", [("P", "12")]))
        #expect(d.status("O") == .received)
    }

    @Test func voidingAnOverReceiptKeepsTheOrderReceived() throws {
        var d = try Self.shop(at: .received)
        try d.run(.receive("O", "R2", [("P", "1")]))
        try d.run(.void("R2"))
        #expect(d.status("O") == .received)
        #expect(try d.shop.order("O").lines[0].produced == 10)
    }

    @Test func receiptAndVoidRefusals() throws {
        var d = try Self.shop(at: .production)
        try d.run(.receive("O", "R1", [("P", "1")]))
        d.refuse(.receive("O", "R1", [("P", "1")]), .duplicateReceipt("R1"))
        d.refuse(.receive("NOPE", "R2", [("P", "1")]), .unknownOrder("NOPE"))
        d.refuse(.receive("O", "R2", []), .emptyReceipt("O"))
        d.refuse(.receive("O", "R2", [("P", "1"), ("P", "2")]), .duplicateReceiptLine(order: "O", sku: "P"))
        d.refuse(.receive("O", "R2", [("M", "1")]), .notAnOutput(order: "O", sku: "M", outputs: ["P"]))
        d.refuse(
            .receive("O", "R2", [("P", "0")]),
            .nonPositiveQuantity(context: "receipt on O, line P", quantity: 0))
        d.refuse(
            .receive("O", "R2", [("P", "-1")]),
            .nonPositiveQuantity(context: "receipt on O, line P", quantity: -1))
        d.refuse(.receive("O", "R2", [("P", "1")], date: "2026-02-30"), .invalidDate("2026-02-30"))
        d.refuse(.receive("O", "R 2", [("P", "1")]), .invalidCode(what: "receipt id", code: "R 2"))
        d.refuse(.void("R9"), .unknownReceipt("R9"))
        try d.run(.void("R1"))
        d.refuse(.void("R1"), .receiptAlreadyVoided("R1"))
        // A voided receipt's id stays taken.
        d.refuse(.receive("O", "R1", [("P", "1")]), .duplicateReceipt("R1"))
    }

    @Test func editAndSetCostRefusals() throws {
        var d = try Self.shop(at: .entered)
        d.refuse(.setCost("O", "M", "1"), .notAnOutput(order: "O", sku: "M", outputs: ["P"]))
        d.refuse(.setCost("O", "P", "-1"), .negativeCost(context: "order O, output P", cost: -1))
        d.refuse(.setCost("NOPE", "P", "1"), .unknownOrder("NOPE"))
        d.refuse(.editOrder(EditOrder(order: "O", due: "2026-13-01")), .invalidDate("2026-13-01"))
        d.refuse(
            .editOrder(EditOrder(order: "O", notes: "x", tolerancePercent: amt("1000.000001"))),
            .invalidTolerance(amt("1000.000001")))
        d.refuse(.editOrder(EditOrder(order: "O", tolerancePercent: -1)), .invalidTolerance(-1))
        d.refuse(.editOrder(EditOrder(order: "NOPE")), .unknownOrder("NOPE"))
        d.refuse(.transition(OrderTransition(order: "NOPE", action: .enter)), .unknownOrder("NOPE"))
        try d.run(.editOrder(EditOrder(order: "O", tolerancePercent: 1000)))
        #expect(try d.shop.order("O").tolerancePercent == 1000)
    }

    @Test func createOrderRefusals() throws {
        var d = try Self.shop(at: .draft)
        try d.run([.item("C", .component)])
        d.refuse(.create("O", .work, at: "PLANT", [("P", "1", nil)]), .duplicateOrder("O"))
        d.refuse(.create("O 2", .work, at: "PLANT", [("P", "1", nil)]), .invalidCode(what: "order number", code: "O 2"))
        d.refuse(.create("O2", .work, at: "MOON", [("P", "1", nil)]), .unknownLocation("MOON"))
        d.refuse(.create("O2", .work, at: "PLANT", []), .emptyOrder("O2"))
        d.refuse(.create("O2", .work, at: "PLANT", [("M", "1", nil)]), .notProducible(sku: "M", kind: .material))
        d.refuse(.create("O2", .work, at: "PLANT", [("C", "1", nil)]), .noBOM("C"))
        d.refuse(.create("O2", .work, at: "PLANT", [("X", "1", nil)]), .unknownItem("X"))
        d.refuse(
            .create("O2", .work, at: "PLANT", [("P", "0", nil)]),
            .nonPositiveQuantity(context: "order O2, output P", quantity: 0))
        d.refuse(
            .create("O2", .work, at: "PLANT", [("P", "1", "-0.01")]),
            .negativeCost(context: "order O2, output P", cost: amt("-0.01")))
        d.refuse(
            .create("O2", .work, at: "PLANT", [("P", "1", nil), ("P", "2", nil)]),
            .duplicateOutput(order: "O2", sku: "P"))
        d.refuse(.create("O2", .work, at: "PLANT", tolerance: "-1", [("P", "1", nil)]), .invalidTolerance(-1))
        d.refuse(
            .createOrder(
                CreateOrder(
                    number: "O2", kind: .work, location: "PLANT", due: "2026-1-1",
                    outputs: [OutputSpec(sku: "P", quantity: 1)])),
            .invalidDate("2026-1-1"))
        try d.run(
            .createOrder(
                CreateOrder(
                    number: "O2", kind: .work, location: "PLANT", due: "2028-02-29",
                    outputs: [OutputSpec(sku: "P", quantity: 1)])))
        #expect(d.status("O2") == .draft)
    }

    @Test(arguments: ["2026-11-22", "2024-02-29", "2000-02-29", "0001-01-01", "2026-12-31"])
    func validDates(text: String) throws {
        try validateDate(text)
    }

    @Test(arguments: [
        "", "2026-11-31", "2025-02-29", "1900-02-29", "2026-00-10", "2026-13-01", "26-11-22", "2026/11/22",
        "2026-11-22T00:00", "0000-01-01", "2026-1-01", "２０２６-11-22", "+026-11-22",
    ])
    func invalidDates(text: String) {
        #expect(throws: DomainError.invalidDate(text)) { try validateDate(text) }
    }
}
