import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Child processes through posix_spawn and wait4, so a run's wall time and peak RSS (ru_maxrss) are exact.
enum Spawn {
    struct Finished: Sendable {
        var status: Int32
        var seconds: Double
        var peakKiB: Int
        var timedOut: Bool
        /// User + system CPU time of the child: unlike wall time, not inflated by other work on the machine.
        var cpuSeconds: Double
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `path` with `arguments`; output goes to files (or /dev/null).
    static func start(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], stdout: String = "/dev/null",
        stderr: String = "/dev/null"
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard error == 0 else {
            throw Failure(description: "cannot start \(path): \(String(cString: strerror(error)))")
        }
        return pid
    }

    /// Waits for `pid`, killing it if it is still running `timeoutSeconds` from now.
    static func wait(_ pid: pid_t, started: Stopwatch, timeoutSeconds: Double) -> Finished {
        let fired = OnceFlag()
        let watchdog = DispatchWorkItem {
            fired.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = started.seconds
        watchdog.cancel()
        let signaled = status & 0x7f != 0
        return Finished(
            status: signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff, seconds: seconds,
            peakKiB: Int(usage.ru_maxrss), timedOut: fired.isSet, cpuSeconds: CPUTime.seconds(usage))
    }

    /// Runs a process to the end.
    static func run(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], stdout: String = "/dev/null",
        stderr: String = "/dev/null", timeoutSeconds: Double = 600
    ) throws -> Finished {
        let clock = Stopwatch()
        let pid = try start(path, arguments, environment: environment, stdout: stdout, stderr: stderr)
        return wait(pid, started: clock, timeoutSeconds: timeoutSeconds)
    }

    /// Runs a process to the end off the cooperative thread pool; throws unless it exits 0.
    static func runChecked(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], stdout: String = "/dev/null",
        stderr: String = "/dev/null", timeoutSeconds: Double = 600
    ) async throws -> Finished {
        let finished = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<Finished, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try run(
                            path, arguments, environment: environment, stdout: stdout, stderr: stderr,
                            timeoutSeconds: timeoutSeconds)
                    })
            }
        }
        guard finished.status == 0 else {
            let detail = (try? String(contentsOfFile: stderr, encoding: .utf8)).map { String($0.suffix(600)) } ?? ""
            throw Failure(
                description: "\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) exited "
                    + "\(finished.status)\(finished.timedOut ? " (timed out)" : ""): \(detail)")
        }
        return finished
    }
}

/// A flag set once from any thread.
final class OnceFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
