/// The sizes every command keeps: the same for a device recording it (a local refusal) and for HQ admitting it
/// (`malformed_payload`), so a device can never author an operation HQ would refuse. Lengths count Unicode code
/// points. PROTOCOL.md §5.8 lists them.
public enum Bounds {
    /// SKUs, location codes, order numbers, receipt ids.
    public static let codeMax = 64
    /// Item and location names.
    public static let nameMax = 200
    /// Units of measure.
    public static let unitMax = 16
    /// An order's notes.
    public static let notesMax = 2_000
    /// A conflict acknowledgement's note.
    public static let noteMax = 1_000
    /// Conflict ids.
    public static let conflictIDMax = 128
    /// Lines of a BOM, outputs of an order, lines of a receipt.
    public static let linesMax = 1_000
}

/// A field of a command outside its bound.
public struct BoundsViolation: Error, Sendable, Equatable, CustomStringConvertible {
    /// The payload field, as a path (`lines.3.sku`).
    public var field: String
    public var problem: String

    public var description: String { "field '\(field)': \(problem)" }
}

extension Command {
    /// The first bound this command breaks, or nil.
    public func boundsViolation() -> BoundsViolation? {
        var check = BoundsCheck()
        switch self {
        case .addItem(let item):
            check.code(item.sku, "sku")
            check.text(item.unit, "unit", max: Bounds.unitMax, lines: false)
            check.text(item.name, "name", max: Bounds.nameMax, lines: false)
        case .addLocation(let location):
            check.code(location.code, "code")
            check.text(location.name, "name", max: Bounds.nameMax, lines: false)
        case .setBOM(let bom):
            check.code(bom.parent, "parent")
            check.lines(bom.lines, "lines")
        case .adjustStock(let adjust):
            check.code(adjust.sku, "sku")
            check.code(adjust.location, "location")
        case .transferStock(let transfer):
            check.code(transfer.sku, "sku")
            check.code(transfer.from, "from")
            check.code(transfer.to, "to")
        case .createOrder(let create):
            check.code(create.number, "number")
            check.code(create.location, "location")
            if let wip = create.wip { check.code(wip, "wip") }
            if let fg = create.fg { check.code(fg, "fg") }
            check.text(create.notes, "notes", max: Bounds.notesMax, lines: true)
            check.count(create.outputs.count, "outputs")
            for (index, output) in create.outputs.enumerated() { check.code(output.sku, "outputs.\(index).sku") }
        case .setCost(let setCost):
            check.code(setCost.order, "order")
            check.code(setCost.sku, "sku")
        case .editOrder(let edit):
            check.code(edit.order, "order")
            if let notes = edit.notes { check.text(notes, "notes", max: Bounds.notesMax, lines: true) }
        case .transition(let transition):
            check.code(transition.order, "order")
        case .addReceipt(let add):
            check.code(add.order, "order")
            check.code(add.receipt, "receipt")
            check.lines(add.lines, "lines")
        case .voidReceipt(let void):
            check.code(void.receipt, "receipt")
        case .setPlantDefault: break
        case .transferToOrder(let transfer):
            check.code(transfer.order, "order")
            check.code(transfer.from, "from")
            check.lines(transfer.lines, "lines")
        case .acknowledgeConflict(let ack):
            check.text(ack.conflict, "conflict", max: Bounds.conflictIDMax, lines: false, empty: false)
            check.text(ack.note, "note", max: Bounds.noteMax, lines: true)
        }
        return check.violation
    }
}

/// Collects the first violation.
private struct BoundsCheck {
    var violation: BoundsViolation?

    mutating func fail(_ field: String, _ problem: String) {
        if violation == nil { violation = BoundsViolation(field: field, problem: problem) }
    }

    mutating func code(_ value: String, _ field: String) {
        text(value, field, max: Bounds.codeMax, lines: false, empty: false)
    }

    mutating func code(_ value: some CodeKey, _ field: String) {
        code(value.rawValue, field)
    }

    mutating func text(_ value: String, _ field: String, max: Int, lines: Bool, empty: Bool = true) {
        let count = value.unicodeScalars.count
        if !empty && count == 0 { fail(field, "must not be empty") }
        if count > max { fail(field, "\(count) characters; at most \(max)") }
        // Control characters (terminal escapes among them) are refused; multi-line texts keep newlines and tabs.
        let control = value.unicodeScalars.first { scalar in
            // General category Cc is exactly U+0000–U+001F and U+007F–U+009F (a range test, not a table lookup).
            (scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value))
                && !(lines && (scalar == "\n" || scalar == "\t"))
        }
        if let control { fail(field, "control character U+\(hex(control.value)) is not allowed") }
    }

    mutating func count(_ count: Int, _ field: String) {
        if count > Bounds.linesMax { fail(field, "\(count) lines; at most \(Bounds.linesMax)") }
    }

    mutating func lines(_ lines: [BOMLine], _ field: String) {
        count(lines.count, field)
        for (index, line) in lines.enumerated() { code(line.sku, "\(field).\(index).sku") }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = Array("0123456789ABCDEF")
        return String((0..<4).reversed().map { digits[Int((value >> (UInt32($0) * 4)) & 0xF)] })
    }
}
