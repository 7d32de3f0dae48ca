import ArgumentParser

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shopfloor-bench", abstract: "Benchmarks.")
    func run() throws {}
}
