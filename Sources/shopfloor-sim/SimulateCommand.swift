import ArgumentParser

@main
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shopfloor-sim", abstract: "Deterministic simulator.")
    func run() throws {}
}
