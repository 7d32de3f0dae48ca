import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The executables the fault tests spawn. `tools/test` (and `swift build --build-tests`) builds them first.
enum Binaries {
    /// Three levels up from this file: Tests/ShopfloorSyncTests/ProcessSupport.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var shopfloor: String { packageRoot.appendingPathComponent(".build/debug/shopfloor").path }
    static var shopfloorHQ: String { packageRoot.appendingPathComponent(".build/debug/shopfloor-hq").path }

    /// Throws with a helpful message when a binary is missing (the tests were run without building them).
    static func require(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ProcessFailure("missing executable \(path): run `swift build --build-tests` (or tools/test) first")
        }
        return path
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Bounded waiting: nothing in the fault tests may hang.
enum Polling {
    /// Seconds since an arbitrary origin, for bounded polling loops.
    static func now() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000
    }

    /// Runs `body`, throwing if it has not finished after `seconds` (the body is cancelled).
    static func timeout<T: Sendable>(
        _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
                throw ProcessFailure("timed out after \(seconds) s: \(what)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Polls `condition` every `interval` seconds until it holds; throws after `timeout` seconds.
    static func until(
        _ what: String, timeout: Double, interval: Double = 0.01, _ condition: () throws -> Bool
    ) async throws {
        let deadline = Polling.now() + timeout
        while true {
            if try condition() { return }
            guard Polling.now() < deadline else {
                throw ProcessFailure("timed out after \(timeout) s waiting for \(what)")
            }
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
    }
}

/// A child process whose standard output and error go to files (so a chatty child never blocks on a full pipe).
/// It is killed with SIGKILL when the object goes away, so a failing test never leaves it behind.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let stdoutPath: String
    let stderrPath: String
    private let process: Process
    private let handles: [FileHandle]

    /// Starts `executable` with `arguments`; output goes to `<directory>/<name>.stdout` and `.stderr`.
    init(
        _ executable: String, _ arguments: [String], name: String, directory: String,
        environment: [String: String] = [:]
    ) throws {
        self.name = name
        stdoutPath = (directory as NSString).appendingPathComponent("\(name).stdout")
        stderrPath = (directory as NSString).appendingPathComponent("\(name).stderr")
        for path in [stdoutPath, stderrPath] {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ProcessFailure("cannot create \(path)")
            }
        }
        guard let out = FileHandle(forWritingAtPath: stdoutPath), let err = FileHandle(forWritingAtPath: stderrPath)
        else {
            throw ProcessFailure("cannot open the output files of \(name)")
        }
        handles = [out, err]
        process = Process()
        process.executableURL = URL(fileURLWithPath: try Binaries.require(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // No progress bars, no colour, and keep the logs short.
        env["SHOPFLOOR_LOG_LEVEL"] = env["SHOPFLOOR_LOG_LEVEL"] ?? "warning"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    deinit {
        if process.isRunning {
            _ = kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for handle in handles { try? handle.close() }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Sends `signal` to the child (only this child, by its pid).
    func send(_ signal: Int32) {
        if process.isRunning { _ = kill(process.processIdentifier, signal) }
    }

    /// How the child ended.
    struct Exit: Sendable, CustomStringConvertible {
        var status: Int32
        var signalled: Bool
        var description: String { signalled ? "killed by signal \(status)" : "exit status \(status)" }
        var succeeded: Bool { !signalled && status == 0 }
    }

    /// Waits for the child to end; after `timeout` seconds it is killed and this throws.
    @discardableResult
    func waitForExit(timeout: Double) async throws -> Exit {
        do {
            try await Polling.until("\(name) to exit", timeout: timeout, interval: 0.01) { !process.isRunning }
        } catch {
            send(SIGKILL)
            process.waitUntilExit()
            throw ProcessFailure("\(name) did not exit within \(timeout) s; killed it. stderr: \(stderr.suffix(2000))")
        }
        process.waitUntilExit()
        return Exit(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal)
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for a line of standard output containing `marker` and returns it; throws if the child exits first
    /// or after `timeout` seconds.
    func waitForLine(containing marker: String, timeout: Double) async throws -> String {
        var found: String?
        try await Polling.until("'\(marker)' from \(name)", timeout: timeout, interval: 0.02) {
            if let line = stdout.split(separator: "\n").first(where: { $0.contains(marker) }) {
                found = String(line)
                return true
            }
            guard process.isRunning else {
                throw ProcessFailure("\(name) exited before printing '\(marker)'. stderr: \(stderr.suffix(2000))")
            }
            return false
        }
        return found!
    }

    /// Runs a command to completion (bounded by `timeout`) and returns its exit and output.
    static func run(
        _ executable: String, _ arguments: [String], name: String, directory: String, timeout: Double = 60,
        environment: [String: String] = [:]
    ) async throws -> (exit: Exit, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, name: name, directory: directory, environment: environment)
        let exit = try await child.waitForExit(timeout: timeout)
        return (exit, child.stdout, child.stderr)
    }
}

/// `shopfloor-hq serve` as a separate process on 127.0.0.1.
final class HQProcess: Sendable {
    static let adminSecret = "fault-admin-secret"

    let child: ChildProcess
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    private init(child: ChildProcess, port: Int) {
        self.child = child
        self.port = port
    }

    /// Starts HQ on `db`; port 0 picks a free port. A fixed port that is still busy is retried for a few seconds.
    static func start(db: String, port: Int = 0, directory: String, name: String) async throws -> HQProcess {
        let deadline = Polling.now() + 15
        var attempt = 0
        while true {
            attempt += 1
            let child = try ChildProcess(
                Binaries.shopfloorHQ,
                ["serve", "--db", db, "--host", "127.0.0.1", "--port", "\(port)"],
                name: "\(name)-\(attempt)", directory: directory, environment: ["SHOPFLOOR_ADMIN_SECRET": adminSecret])
            do {
                let line = try await child.waitForLine(containing: "listening on http://127.0.0.1:", timeout: 30)
                guard
                    let bound = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }
                    ),
                    bound > 0
                else { throw ProcessFailure("cannot read the port from '\(line)'") }
                if port != 0 && bound != port { throw ProcessFailure("HQ bound \(bound), not \(port)") }
                return HQProcess(child: child, port: bound)
            } catch {
                // A port still held by the previous process: try again shortly, for a bounded time.
                child.send(SIGKILL)
                _ = try? await child.waitForExit(timeout: 10)
                guard port != 0, Polling.now() < deadline else { throw error }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
        }
    }
}
