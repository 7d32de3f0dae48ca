import ArgumentParser
import Foundation
import ShopfloorDomain
import ShopfloorStore

/// `shopfloor import items|bom FILE.csv`: all rows or nothing, in one atomic batch.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import items or BOMs from CSV (all rows, or nothing).",
        subcommands: [Items.self, BOM.self])

    /// A bound on the file size read into memory.
    static let fileBytesMax = 16 * 1024 * 1024

    struct Imported: Encodable {
        var kind: String
        var imported: Int
        var operations: [String]
    }

    /// Validates the whole plan against the current state, then records it as one batch.
    static func run(_ plan: ImportPlan, file: String, what: String, replica: Replica, output: Output) throws {
        try plan.validate(against: replica.workingSet(for: plan.commands), date: Replica.businessDate(Date()))
        let recorded = plan.steps.isEmpty ? [] : try replica.record(plan.commands)
        let operations = recorded.map(\.operation.id.description)
        let imported = Imported(
            kind: recorded.first?.operation.kind ?? "", imported: recorded.count, operations: operations)
        try output.show(imported) {
            guard let first = operations.first, let last = operations.last else {
                return "nothing to import in \(file)"
            }
            let range = first == last ? first : "\(first)…\(last)"
            return "imported \(recorded.count) \(what) from \(file) (recorded \(range))"
        }
    }

    static func records(_ file: String) throws -> [CSVRecord] {
        let url = URL(fileURLWithPath: file)
        let data: Data
        do {
            let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
            guard size <= fileBytesMax else { throw CommandFailure("'\(file)' is larger than \(fileBytesMax) bytes") }
            data = try Data(contentsOf: url)
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("cannot read '\(file)': \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure("'\(file)' is not UTF-8 text")
        }
        do {
            return try CSV.parse(text)
        } catch {
            throw ReplicaError.importFailed(line: error.line, reason: error.reason)
        }
    }

    /// `shopfloor import items FILE.csv` (columns sku,kind,unit,name).
    struct Items: ReplicaCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import items: a header row sku,kind,unit,name, then one item per row.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The CSV file.")
        var file: String

        func run(replica: Replica, output: Output) throws {
            let plan = try ItemImport.plan(try ImportCommand.records(file))
            try ImportCommand.run(plan, file: file, what: "items", replica: replica, output: output)
        }
    }

    /// `shopfloor import bom FILE.csv` (columns parent,child,quantity).
    struct BOM: ReplicaCommand {
        static let configuration = CommandConfiguration(
            commandName: "bom",
            abstract: "Import BOMs: a header row parent,child,quantity; each parent's rows replace its BOM.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The CSV file.")
        var file: String

        func run(replica: Replica, output: Output) throws {
            let plan = try BOMImport.plan(try ImportCommand.records(file))
            try ImportCommand.run(plan, file: file, what: "BOMs", replica: replica, output: output)
        }
    }
}
