import Foundation
import ShopfloorReplication
import Testing

/// The stored form of a vector is written and read without a JSON coder; it must be byte for byte what the coder
/// writes, and anything else must be left to the coder.
@Suite struct VersionVectorTextTests {
    static func encoded(_ vector: VersionVector) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(vector), as: UTF8.self)
    }

    @Test(arguments: 0..<200) func compactFormIsTheCodersForm(seed: Int) throws {
        var rng = SplitMixRNG(seed: UInt64(seed))
        let alphabet = Array("abcXYZ019._-")
        var counters: [String: UInt64] = [:]
        for _ in 0..<(seed % 30) {
            let id = String((0..<Int.random(in: 1...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            counters[id] = seed % 7 == 0 ? UInt64.max - UInt64(seed) : UInt64.random(in: 1...1_000_000, using: &rng)
        }
        let vector = VersionVector(counters)
        let compact = try #require(vector.compactJSON)
        #expect(compact == (try Self.encoded(vector)))
        #expect(VersionVector(compactJSON: compact) == vector)
        #expect(try JSONDecoder().decode(VersionVector.self, from: Data(compact.utf8)) == vector)
    }

    @Test(arguments: [
        "{ \"a\":1}", "{\"a\": 1}", "{\"a\":01}", "{\"a\":1,}", "{\"a\":1", "\"a\":1}", "{\"a\\u0062\":1}",
        "{\"a\":-1}", "{\"a\":1.0}", "{\"a\":18446744073709551616}", "{\"\":1}", "{\"a\":1,,\"b\":2}", "",
    ])
    func anythingElseIsLeftToTheCoder(text: String) {
        #expect(VersionVector(compactJSON: text) == nil, "\(text)")
    }

    @Test func keysThatNeedEscapingAreLeftToTheCoder() {
        #expect(VersionVector(["a\"b": 1]).compactJSON == nil)
        #expect(VersionVector(["é": 1]).compactJSON == nil)
        #expect(VersionVector().compactJSON == "{}")
        #expect(VersionVector(compactJSON: "{}") == VersionVector())
    }
}
