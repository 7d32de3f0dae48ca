import ArgumentParser
import Foundation

/// Seeds to run: "7", "1..20" (or "1...20"), or a comma list of either.
struct SeedList: ExpressibleByArgument, Sendable {
    /// Bound on how many seeds one invocation runs.
    static let countMax = 10_000_000

    var seeds: [UInt64]

    init(_ seeds: [UInt64]) {
        self.seeds = seeds
    }

    init?(argument: String) {
        var seeds: [UInt64] = []
        for part in argument.split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if let range = text.range(of: "...") ?? text.range(of: "..") {
                guard let low = UInt64(String(text[..<range.lowerBound])),
                    let high = UInt64(String(text[range.upperBound...])), low <= high,
                    high - low < UInt64(Self.countMax)
                else { return nil }
                seeds += Array(low...high)
            } else {
                guard let seed = UInt64(text) else { return nil }
                seeds.append(seed)
            }
            if seeds.count > Self.countMax { return nil }
        }
        guard !seeds.isEmpty else { return nil }
        self.seeds = seeds
    }

    var defaultValueDescription: String {
        seeds.count == 1 ? "\(seeds[0])" : "\(seeds.first!)..\(seeds.last!)"
    }
}
