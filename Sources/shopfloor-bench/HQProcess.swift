import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `shopfloor-hq serve` as its own process, so its memory is its own.
struct HQProcess: Sendable {
    let pid: pid_t
    let url: String
    let started: Stopwatch

    static func start(binary: String, database: String, logDirectory: String) async throws -> HQProcess {
        let stdout = logDirectory + "/hq-\(UUID().uuidString.prefix(8)).out"
        let clock = Stopwatch()
        let pid = try Spawn.start(
            binary, ["serve", "--db", database, "--host", "127.0.0.1", "--port", "0"],
            environment: ["SHOPFLOOR_LOG_LEVEL": "warning"], stdout: stdout, stderr: stdout + ".err")
        // Bounded: the HQ prints its address once its replica is open (loading a large one takes a while).
        for _ in 0..<3000 {
            if let text = try? String(contentsOfFile: stdout, encoding: .utf8),
                let range = text.range(of: "listening on http://")
            {
                let rest = text[range.lowerBound...].dropFirst("listening on ".count)
                if let end = rest.firstIndex(of: "\n") {
                    return HQProcess(pid: pid, url: String(rest[..<end]), started: clock)
                }
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let error = (try? String(contentsOfFile: stdout + ".err", encoding: .utf8)) ?? ""
                throw Spawn.Failure(description: "shopfloor-hq exited before listening: \(error.suffix(600))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(pid, SIGKILL)
        throw Spawn.Failure(description: "shopfloor-hq did not start listening within 60 s")
    }

    /// Peak resident memory so far (VmHWM), KiB.
    var peakKiB: Int? { Memory.statusKiB("VmHWM", pid: "\(pid)") }

    /// SIGTERM, then waits (SIGKILL after 30 s).
    func stop() async -> Spawn.Finished {
        kill(pid, SIGTERM)
        let pid = self.pid
        let started = self.started
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Spawn.wait(pid, started: started, timeoutSeconds: 30))
            }
        }
    }
}
