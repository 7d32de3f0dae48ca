import Foundation
import ShopfloorDomain
import Testing

/// The typed codes keep every byte of the strings they wrap: JSON (alone, in a struct, as a dictionary key), text,
/// order and equality.
@Suite struct CodeKeyTests {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test(arguments: ["STEEL", "A-1_b.c/d", "Stahl-ÄÖ", "a\"b", ""])
    func encodesAsItsString(_ text: String) throws {
        #expect(try Self.json(SKU(text)) == Self.json(text))
        #expect(try Self.json(OrderNumber(text)) == Self.json(text))
        #expect(try Self.json([SKU(text): Amount(2)]) == Self.json([text: Amount(2)]))
        #expect(try Self.json([OrderNumber(text): [SKU(text)]]) == Self.json([text: [text]]))
        let decoded = try JSONDecoder().decode([SKU: SKU].self, from: Data(try Self.json([text: text]).utf8))
        #expect(decoded == [SKU(text): SKU(text)])
        #expect(SKU(text).description == text && "\(OrderNumber(text))" == text)
    }

    @Test func ordersAsItsString() {
        let texts = ["b", "B", "a-2", "a-10", "ä", "A"]
        #expect(texts.map(SKU.init).sorted().map(\.rawValue) == texts.sorted())
        #expect(texts.map(OrderNumber.init).sorted().map(\.rawValue) == texts.sorted())
    }

    @Test func aCommandsPayloadIsUnchanged() throws {
        let command = SetCost(order: "WO-1", sku: "CHAIR", unitCost: Amount(12))
        #expect(try Self.json(command) == #"{"order":"WO-1","sku":"CHAIR","unitCost":"12"}"#)
    }
}
