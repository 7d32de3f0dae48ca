import ArgumentParser
import AsyncHTTPClient
import Dispatch
import Foundation
import Logging
import ShopfloorStore
import ShopfloorSync
import Synchronization

/// `shopfloor sync`: push this device's operations to HQ, then pull what it lacks, until both sides are quiet.
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Push unsent operations to HQ and pull what this device lacks.",
        discussion: "Progress is saved after every batch: a sync that is killed goes on from where it stopped.",
        subcommands: [SyncRun.self, SyncStatusCommand.self],
        defaultSubcommand: SyncRun.self)
}

struct SyncRun: ReplicaCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Sync now (the default).")

    @OptionGroup var global: GlobalOptions
    @Option(help: "HQ address (default: the one given at enrolment).") var hq: String?
    @Option(help: "Operations per batch (1–1000).") var batch = 500
    @Option(help: "PEM certificates of an https HQ's authority (default: the one given at enrolment).")
    var caFile: String?
    @Flag(help: "Also print the state digest after the sync (it reads every projection row: seconds on a big replica).")
    var digest = false

    func validate() throws {
        guard (1...1000).contains(batch) else { throw ValidationError("--batch must be between 1 and 1000") }
    }

    struct Summary: Encodable {
        var pushed: Int
        var duplicates: Int
        var pulled: Int
        var digest: String?
        var operations: UInt64
        /// The snapshot caught up from, if one was.
        var snapshot: String?
    }

    func run(replica: Replica, output: Output) throws {
        let settings = try SyncSettings.load(from: replica)
        guard let deviceID = settings.deviceID, let secret = settings.secret else { throw SyncError.notEnrolled }
        guard let address = hq ?? settings.hq else { throw SyncError.noHQ }
        let http = try SyncClient.makeHTTPClient(caFile: caFile ?? settings.caFile)
        let client = try SyncClient(
            replica: replica, hq: address, deviceID: deviceID, secret: secret,
            configuration: SyncClient.Configuration(batchOperationsMax: batch), http: http,
            logger: Logger(label: "shopfloor.sync"))
        let bar = ProgressBar(enabled: !global.json)
        let withDigest = digest
        let report = try blocking {
            let owned = http !== HTTPClient.shared
            do {
                let report = try await client.sync(digest: withDigest) { bar.update($0) }
                if owned { try await http.shutdown() }
                return report
            } catch {
                if owned { try? await http.shutdown() }
                throw error
            }
        }
        bar.finish()
        let summary = Summary(
            pushed: report.pushed, duplicates: report.duplicates, pulled: report.pulled, digest: report.digest,
            operations: report.vector.total, snapshot: report.snapshot)
        try output.show(summary) {
            "synced with \(address): pushed \(summary.pushed), already there \(summary.duplicates), "
                + "pulled \(summary.pulled)" + (summary.snapshot.map { " (from snapshot \($0))" } ?? "")
                + (summary.digest.map { "; digest \($0)" } ?? "")
        }
    }
}

/// `shopfloor sync status`: what is waiting to go and when the last sync succeeded.
struct SyncStatusCommand: ReplicaCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Unsent operations, last sync, HQ.")

    @OptionGroup var global: GlobalOptions

    struct Status: Encodable {
        var replica: String
        var deviceID: String?
        var hq: String?
        var unsent: UInt64
        var lastSync: String?
        var lastError: String?
        var operations: UInt64
        enum CodingKeys: String, CodingKey {
            case replica
            case deviceID = "device_id"
            case hq, unsent
            case lastSync = "last_sync"
            case lastError = "last_error"
            case operations
        }
    }

    func run(replica: Replica, output: Output) throws {
        let settings = try SyncSettings.load(from: replica)
        let own = replica.versionVector[replica.id]
        let status = Status(
            replica: replica.id, deviceID: settings.deviceID, hq: settings.hq,
            unsent: own > settings.pushed ? own - settings.pushed : 0, lastSync: settings.lastSync,
            lastError: settings.lastError, operations: replica.versionVector.total)
        try output.show(status) {
            [
                "replica:    \(status.replica)",
                "device:     \(status.deviceID ?? "not enrolled")",
                "hq:         \(status.hq ?? "-")",
                "unsent:     \(status.unsent) operations",
                "last sync:  \(status.lastSync ?? "never")",
            ].joined(separator: "\n") + (status.lastError.map { "\nlast error: \($0)" } ?? "")
        }
    }
}

/// A progress bar on standard error for a long backlog, with the rate and the time left; silent for short syncs and
/// non-terminals.
final class ProgressBar: Sendable {
    let enabled: Bool
    let shown = Mutex(false)
    /// The phase shown and when it started.
    let phase = Mutex<(SyncProgress.Phase, Date)?>(nil)

    init(enabled: Bool) {
        self.enabled = enabled && isatty(STDERR_FILENO) == 1
    }

    func update(_ progress: SyncProgress) {
        guard enabled, progress.total >= 1000 else { return }
        let started = phase.withLock { phase -> Date in
            if let (shown, since) = phase, shown == progress.phase { return since }
            phase = (progress.phase, Date())
            return Date()
        }
        FileHandle.standardError.write(Data(("\r" + Self.line(progress, seconds: -started.timeIntervalSinceNow)).utf8))
        shown.withLock { $0 = true }
    }

    /// `pull [########......................] 26,000/100,000  7,650 ops/s  9 s left`
    static func line(_ progress: SyncProgress, seconds: Double) -> String {
        let width = 30
        let filled = min(width, progress.done * width / max(progress.total, 1))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let bytes = progress.phase == .snapshot
        let (done, total) = bytes ? (progress.done >> 20, progress.total >> 20) : (progress.done, progress.total)
        var line = "\(progress.phase.rawValue) [\(bar)] \(done)/\(total)\(bytes ? " MiB" : "")"
        if seconds > 0.5, progress.done > 0 {
            let rate = Double(progress.done) / seconds
            let left = Double(max(0, progress.total - progress.done)) / rate
            line += bytes ? "  \(Int(rate) >> 20) MiB/s" : "  \(Int(rate)) ops/s"
            line += "  \(Int(left.rounded(.up))) s left"
        }
        return line + "   "
    }

    func finish() {
        if shown.withLock({ $0 }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Runs async work from a synchronous command (the CLI's commands are synchronous).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
