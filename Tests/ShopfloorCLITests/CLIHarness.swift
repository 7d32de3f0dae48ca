import Foundation
import Logging
import ShopfloorDomain
import ShopfloorStore
import Testing

/// Every process-level suite of this target is nested here, so the whole target runs one test at a time: each test
/// spawns real `shopfloor` processes, and the crash tests depend on timing that two busy cores would blur.
@Suite(.serialized) struct CLIProcessTests {
    /// `SHOPFLOOR_TEST_VERBOSE=1` prints the steps of the random session and the moments of the kills.
    static let verbose = ProcessInfo.processInfo.environment["SHOPFLOOR_TEST_VERBOSE"] == "1"
}

/// A harness failure that stops the test (the binary is missing, a command that had to succeed did not).
struct HarnessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - The binary

/// The `shopfloor` binary built by `swift build` (and by `tools/test`, which builds before testing).
enum CLIBinary {
    /// This file is `<package root>/Tests/ShopfloorCLITests/CLIHarness.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let url = packageRoot.appendingPathComponent(".build/debug/shopfloor")

    /// This target's source folder (where the fixtures are written when regenerated).
    static let testsFolder = packageRoot.appendingPathComponent("Tests/ShopfloorCLITests")

    static func located() throws -> URL {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw HarnessFailure(
                "the shopfloor binary is missing at \(url.path): run `tools/test` (it builds the binaries first) "
                    + "or `swift build --product shopfloor` before `swift test --skip-build`")
        }
        return url
    }
}

// MARK: - One run

/// What one `shopfloor` process did.
struct CLIResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    /// True when the process ended on a signal (`status` is then the signal number).
    var signaled: Bool
    var stdout: String
    var stderr: String

    var description: String {
        "`shopfloor \(arguments.joined(separator: " "))` → \(signaled ? "signal" : "exit") \(status)\n"
            + "stdout: \(stdout.isEmpty ? "(empty)" : stdout)\nstderr: \(stderr.isEmpty ? "(empty)" : stderr)"
    }

    /// Decodes standard output as JSON (snake_case keys become camelCase properties).
    func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try CLIJSON.decoder.decode(T.self, from: Data(stdout.utf8))
        } catch {
            throw HarnessFailure("cannot decode \(T.self) from the output of \(self)\n\(error)")
        }
    }
}

enum CLIJSON {
    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

// MARK: - A sandbox per test

/// A temporary directory holding one replica database, removed when the test ends; runs the real binary in it.
final class CLISandbox {
    /// How the child process learns the database path.
    enum DatabaseOption {
        /// `SHOPFLOOR_DB` in the environment.
        case environment
        /// `--db PATH` before the subcommand.
        case flag
        /// Neither (the command line must say it, or the default `./shopfloor.sqlite` in the sandbox is used).
        case none
    }

    static let timeoutSeconds = 120.0

    let directory: URL
    let binary: URL
    /// The replica this sandbox's commands use.
    let databasePath: String
    var databaseOption: DatabaseOption
    private var runCount = 0

    /// `binary` defaults to the package's own build (another one makes the migration fixtures).
    init(_ label: String, database: DatabaseOption = .environment, binary: URL? = nil) throws {
        self.binary = try binary ?? CLIBinary.located()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("shopfloor-cli-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("runs"), withIntermediateDirectories: true)
        databasePath = directory.appendingPathComponent("floor.sqlite").path
        databaseOption = database
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes a file in the sandbox and returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let path = path(name)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The child's environment: this process's, without the variables that would change the CLI's behaviour, plus
    /// `SHOPFLOOR_DB` when that is how the database is given.
    func environment(_ option: DatabaseOption, extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SHOPFLOOR_DB")
        environment.removeValue(forKey: "SHOPFLOOR_LOG_LEVEL")
        if option == .environment { environment["SHOPFLOOR_DB"] = databasePath }
        environment["SHOPFLOOR_CLI"] = binary.path
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    private func nextOutputFiles() throws -> (out: String, err: String) {
        runCount += 1
        let out = path("runs/\(runCount).out")
        let err = path("runs/\(runCount).err")
        for file in [out, err] {
            guard FileManager.default.createFile(atPath: file, contents: nil) else {
                throw HarnessFailure("cannot create \(file)")
            }
        }
        return (out, err)
    }

    /// Runs `shopfloor ARGUMENTS` to completion and captures its status and output.
    func run(
        _ arguments: [String], database: DatabaseOption? = nil, environment extra: [String: String] = [:]
    ) throws
        -> CLIResult
    {
        let option = database ?? databaseOption
        let fullArguments = (option == .flag ? ["--db", databasePath] : []) + arguments
        let process = try launch(
            executable: binary, arguments: fullArguments, environment: environment(option, extra: extra))
        let finished = DispatchSemaphore(value: 0)
        process.process.terminationHandler = { _ in finished.signal() }
        try process.process.run()
        if finished.wait(timeout: .now() + Self.timeoutSeconds) == .timedOut {
            kill(process.process.processIdentifier, SIGKILL)
            finished.wait()
            throw HarnessFailure(
                "`shopfloor \(fullArguments.joined(separator: " "))` ran longer than \(Self.timeoutSeconds) s")
        }
        return process.result(arguments: fullArguments)
    }

    /// A child process whose output goes to files in the sandbox; not yet started.
    struct Launched {
        var process: Process
        var stdoutPath: String
        var stderrPath: String

        var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

        func result(arguments: [String]) -> CLIResult {
            CLIResult(
                arguments: arguments, status: process.terminationStatus,
                signaled: process.terminationReason == .uncaughtSignal, stdout: stdout, stderr: stderr)
        }
    }

    func launch(executable: URL, arguments: [String], environment: [String: String]) throws -> Launched {
        let files = try nextOutputFiles()
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        guard let out = FileHandle(forWritingAtPath: files.out), let err = FileHandle(forWritingAtPath: files.err)
        else {
            throw HarnessFailure("cannot open the output files of a child process")
        }
        process.standardOutput = out
        process.standardError = err
        return Launched(process: process, stdoutPath: files.out, stderrPath: files.err)
    }

    /// Starts `/bin/sh -c SCRIPT` in the background (its own process group; `$SHOPFLOOR_CLI` is the binary and
    /// `$SHOPFLOOR_DB` the database). The caller kills or waits for it.
    func startShell(_ script: String) throws -> Launched {
        let launched = try launch(
            executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script],
            environment: environment(.environment))
        try launched.process.run()
        return launched
    }

    /// Starts `shopfloor ARGUMENTS` in the background (its own process group).
    func start(_ arguments: [String]) throws -> Launched {
        let launched = try launch(executable: binary, arguments: arguments, environment: environment(databaseOption))
        try launched.process.run()
        return launched
    }

    // MARK: Expectations

    /// Runs a command that must succeed (exit 0); records an issue otherwise.
    @discardableResult
    func ok(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult {
        let result = try run(arguments)
        #expect(result.status == 0 && !result.signaled, "expected exit 0: \(result)", sourceLocation: sourceLocation)
        return result
    }

    /// Runs a command with `--json` (placed before any `--`), requires exit 0, and decodes its output.
    func json<T: Decodable>(
        _ type: T.Type, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> T {
        let result = try run(Self.withJSON(arguments))
        guard result.status == 0, !result.signaled else {
            Issue.record("expected exit 0: \(result)", sourceLocation: sourceLocation)
            throw HarnessFailure("a command that had to succeed failed: \(result)")
        }
        return try result.decode(T.self)
    }

    static func withJSON(_ arguments: [String]) -> [String] {
        var arguments = arguments
        arguments.insert("--json", at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        return arguments
    }

    /// The write command's confirmation (`--json`).
    @discardableResult
    func record(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfirmationJSON {
        try json(ConfirmationJSON.self, arguments, sourceLocation: sourceLocation)
    }

    func digest(sourceLocation: SourceLocation = #_sourceLocation) throws -> DigestJSON {
        try json(DigestJSON.self, ["digest"], sourceLocation: sourceLocation)
    }

    func positions(sourceLocation: SourceLocation = #_sourceLocation) throws -> [PositionJSON] {
        try json([PositionJSON].self, ["stock"], sourceLocation: sourceLocation)
    }

    /// The position of `sku` at `location`; throws when there is none.
    func position(
        _ sku: String, at location: String = "PLANT", sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> PositionJSON
    {
        let rows = try json(
            [PositionJSON].self, ["stock", "--sku", sku, "--location", location], sourceLocation: sourceLocation)
        guard rows.count == 1, let row = rows.first else {
            throw HarnessFailure("expected one position for \(sku) at \(location), got \(rows.count)")
        }
        return row
    }

    func ledger(_ filters: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> [LedgerEntryJSON] {
        try json([LedgerEntryJSON].self, ["ledger"] + filters, sourceLocation: sourceLocation)
    }

    func order(_ number: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> OrderJSON {
        try json(OrderJSON.self, ["order", "show", number], sourceLocation: sourceLocation)
    }

    /// The worked example's catalog and opening stock at PLANT (12 operations):
    /// STEEL 100 @ 2.00 + 50 @ 2.60, BOLT 1000 @ 0.10, PAINT 20 @ 15.00; FRAME = 2.5 STEEL + 4 BOLT;
    /// CHAIR = 1 FRAME + 2 BOLT + 0.2 PAINT.
    func seedWorkedCatalog() throws {
        try record("location", "add", "PLANT", "--name", "Main plant")
        try record("item", "add", "STEEL", "--kind", "material", "--unit", "kg")
        try record("item", "add", "BOLT", "--kind", "material")
        try record("item", "add", "PAINT", "--kind", "material", "--unit", "l")
        try record("item", "add", "FRAME", "--kind", "component")
        try record("item", "add", "CHAIR", "--kind", "product", "--name", "Chair")
        try record("bom", "set", "FRAME", "STEEL=2.5", "BOLT=4")
        try record("bom", "set", "CHAIR", "FRAME=1", "BOLT=2", "PAINT=0.2")
        try record("stock", "adjust", "STEEL", "100", "--location", "PLANT", "--unit-cost", "2.00")
        try record("stock", "adjust", "STEEL", "50", "--location", "PLANT", "--unit-cost", "2.60")
        try record("stock", "adjust", "BOLT", "1000", "--location", "PLANT", "--unit-cost", "0.10")
        try record("stock", "adjust", "PAINT", "20", "--location", "PLANT", "--unit-cost", "15.00")
    }
}

// MARK: - Killing

/// Process-group helpers for the crash tests.
enum ProcessControl {
    /// SIGKILLs the process group `launched` leads (Foundation starts each child in its own group).
    static func killGroup(_ process: Process) throws {
        let pid = process.processIdentifier
        guard getpgid(pid) == pid else {
            throw HarnessFailure("child \(pid) does not lead its own process group (pgid \(getpgid(pid)))")
        }
        kill(-pid, SIGKILL)
    }

    /// Waits for `process` to end, killing it after `seconds`.
    static func wait(_ process: Process, seconds: Double = 120) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() > deadline {
                kill(-process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw HarnessFailure("child \(process.processIdentifier) ran longer than \(seconds) s")
            }
            usleep(1_000)
        }
        process.waitUntilExit()
    }

    static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        usleep(useconds_t(seconds * 1_000_000))
    }
}

/// A small deterministic generator (SplitMix64) so random sessions and kill moments replay exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - JSON shapes of the CLI

/// `init --json`.
struct InitJSON: Decodable {
    var replica: String
    var name: String
    var path: String
}

/// A write command's confirmation: `{"operation", "kind", "entries", …ids}`.
struct ConfirmationJSON: Decodable {
    var operation: String
    var kind: String
    var entries: Int
    var number: String?
    var status: String?
    var receipt: String?
    var action: String?
    var sku: String?
}

/// `digest --json`.
struct DigestJSON: Decodable, Equatable, CustomStringConvertible {
    var digest: String
    var operations: Int
    var description: String { "\(digest) (\(operations) operations)" }
}

/// `rebuild --json`.
struct RebuildJSON: Decodable {
    var before: String
    var after: String
    var equal: Bool
    var operations: Int
}

/// `import items|bom --json`.
struct ImportJSON: Decodable {
    var kind: String
    var imported: Int
    var operations: [String]
}

/// One row of `stock --json`; every amount is the CLI's exact decimal string.
struct PositionJSON: Decodable {
    var sku: String
    var location: String
    var unit: String
    var onHand: String
    var onOrder: String
    var demand: String
    var allocated: String
    var available: String
    var projected: String
    var value: String

    /// Every figure in one line, for digit-for-digit comparisons with a readable failure.
    var figures: String {
        "on_hand \(onHand), on_order \(onOrder), demand \(demand), allocated \(allocated), available \(available), "
            + "projected \(projected), value \(value)"
    }
}

/// One row of `ledger --json`.
struct LedgerEntryJSON: Decodable {
    var operation: String
    var lamport: Int
    var index: Int
    var sku: String
    var location: String
    var event: String
    var quantity: String
    var unitCost: String?
    var value: String?
    var relieved: String
    var ref: String?
    var date: String

    /// `CONSUME STEEL -10 @2.2 = -22`.
    var line: String {
        "\(event) \(sku) \(quantity)" + (unitCost.map { " @\($0)" } ?? "") + (value.map { " = \($0)" } ?? "")
    }
}

/// `order show --json`.
struct OrderJSON: Decodable {
    struct Line: Decodable {
        var sku: String
        var ordered: String
        var produced: String
        var onOrder: String
        var unitCost: String?
    }

    struct Input: Decodable {
        var sku: String
        var required: String
        var demand: String
        var allocated: String
        var consumed: String

        var figures: String {
            "\(sku) required \(required) demand \(demand) allocated \(allocated) consumed \(consumed)"
        }
    }

    struct Receipt: Decodable {
        struct Line: Decodable {
            var sku: String
            var quantity: String
        }

        var id: String
        var date: String
        var voided: Bool
        var lines: [Line]
    }

    var number: String
    var kind: String
    var location: String
    var status: String
    var due: String?
    var notes: String
    var tolerancePercent: String
    var allowedEvents: [String]
    var lines: [Line]
    var inputs: [Input]
    var receipts: [Receipt]
    var ledgerEntries: Int
}

/// One row of `order list --json`.
struct OrderSummaryJSON: Decodable {
    struct Output: Decodable {
        var sku: String
        var ordered: String
        var produced: String
    }

    var number: String
    var kind: String
    var location: String
    var status: String
    var due: String?
    var outputs: [Output]
}

/// `bom explode --json`.
struct ExplosionJSON: Decodable {
    struct Input: Decodable {
        var sku: String
        var kind: String
        var unit: String
        var quantity: String
    }

    var sku: String
    var quantity: String
    var levels: String
    var inputs: [Input]

    /// `BOLT 60 material ea, …`.
    var lines: [String] { inputs.map { "\($0.sku) \($0.quantity) \($0.kind) \($0.unit)" } }
}

// MARK: - Positions recomputed from the ledger

/// A position recomputed in the test from ledger rows, with the README's table of effects (an independent check of
/// the store's position projection and of value conservation).
struct RecomputedPosition: Equatable, CustomStringConvertible {
    var onHand = Amount.zero
    var onOrder = Amount.zero
    var demand = Amount.zero
    var allocated = Amount.zero
    var value = Amount.zero

    var description: String {
        "on_hand \(onHand), on_order \(onOrder), demand \(demand), allocated \(allocated), value \(value)"
    }

    static func parse(_ text: String) throws -> Amount {
        do { return try Amount(parsing: text) } catch { throw HarnessFailure("'\(text)' is not an amount: \(error)") }
    }

    init() {}

    init(_ row: PositionJSON) throws {
        onHand = try Self.parse(row.onHand)
        onOrder = try Self.parse(row.onOrder)
        demand = try Self.parse(row.demand)
        allocated = try Self.parse(row.allocated)
        value = try Self.parse(row.value)
    }

    /// Folds ledger rows into positions keyed by "SKU@LOCATION".
    static func fold(_ entries: [LedgerEntryJSON]) throws -> [String: RecomputedPosition] {
        var positions: [String: RecomputedPosition] = [:]
        for entry in entries {
            let quantity = try parse(entry.quantity)
            let relieved = try parse(entry.relieved)
            var position = positions["\(entry.sku)@\(entry.location)", default: RecomputedPosition()]
            if let value = entry.value { position.value += try parse(value) }
            switch entry.event {
            case "ORDER", "REVERSE_ORDER": position.onOrder += quantity
            case "DEMAND", "REVERSE_DEMAND": position.demand += quantity
            case "ALLOCATE", "REVERSE_ALLOCATE":
                position.allocated += quantity
                position.demand -= quantity
            case "CONSUME":
                position.onHand += quantity
                position.allocated -= relieved
            case "REVERSE_CONSUME":
                position.onHand += quantity
                position.allocated += relieved
            case "PRODUCE":
                position.onHand += quantity
                position.onOrder -= relieved
            case "REVERSE_PRODUCE":
                position.onHand += quantity
                position.onOrder += relieved
            case "ADJUST", "TRANSFER":
                position.onHand += quantity
            default:
                throw HarnessFailure("unknown ledger event \(entry.event)")
            }
            positions["\(entry.sku)@\(entry.location)"] = position
        }
        return positions
    }
}

extension CLISandbox {
    /// Checks that `stock --json` equals the positions recomputed from `ledger --json` (every SKU and location, every
    /// figure; available and projected from their definitions), so stock value is the sum of entry values.
    func expectPositionsMatchLedger(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let recomputed = try RecomputedPosition.fold(try ledger(sourceLocation: sourceLocation))
        let rows = try positions(sourceLocation: sourceLocation)
        var shown: [String: RecomputedPosition] = [:]
        for row in rows {
            let position = try RecomputedPosition(row)
            shown["\(row.sku)@\(row.location)"] = position
            #expect(
                try RecomputedPosition.parse(row.available) == position.onHand - position.allocated,
                "available of \(row.sku)@\(row.location)", sourceLocation: sourceLocation)
            #expect(
                try RecomputedPosition.parse(row.projected)
                    == position.onHand + position.onOrder - position.demand - position.allocated,
                "projected of \(row.sku)@\(row.location)", sourceLocation: sourceLocation)
        }
        for key in Set(recomputed.keys).union(shown.keys).sorted() {
            let message =
                "\(key): stock shows \(shown[key].map(\.description) ?? "nothing"), "
                + "the ledger sums to \(recomputed[key].map(\.description) ?? "nothing")"
            #expect(shown[key] == recomputed[key], Comment(rawValue: message), sourceLocation: sourceLocation)
        }
    }
}

extension Replica {
    /// Opens a replica in the test process with a logger that stays quiet below warnings.
    static func openQuietly(at path: String) throws -> Replica {
        var logger = Logger(label: "shopfloor.cli-tests")
        logger.logLevel = .warning
        return try Replica.open(at: path, configuration: ReplicaConfiguration(logger: logger))
    }
}
