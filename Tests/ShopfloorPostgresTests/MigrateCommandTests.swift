import Foundation
import Testing

/// `shopfloor-hq migrate`, run as the operator runs it.
@Suite struct MigrateCommandTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var binary: String { packageRoot.appendingPathComponent(".build/debug/shopfloor-hq").path }

    /// Runs shopfloor-hq with `arguments`; its exit status and what it printed (both streams). Waits for the child
    /// off Swift's cooperative pool (2 threads here), which other suites' tasks need.
    static func run(
        _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSetupFailure("missing \(binary): run `swift build --build-tests` (or tools/test) first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("migrate-\(UUID()).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exited.continuation.finish() }
        try process.run()
        for await _ in exited.stream {}
        try handle.close()
        defer { try? FileManager.default.removeItem(at: output) }
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }

    @Test func migrateSetsUpTheSchemaThenSaysItIsCurrent() async throws {
        try await TestDatabase.with { database in
            let url =
                "postgres://\(database.location.user)@\(database.location.host):\(database.location.port)/"
                + database.location.database
            let first = try await Self.run(["migrate", "--postgres", url])
            #expect(first.status == 0, "\(first.output)")
            #expect(first.output.contains("schema version 0 -> 1 (applied v1-hq)"), "\(first.output)")
            // The environment variable names the database too.
            let second = try await Self.run(["migrate"], environment: ["SHOPFLOOR_HQ_POSTGRES": url])
            #expect(second.status == 0, "\(second.output)")
            #expect(second.output.contains("schema version 1, up to date"), "\(second.output)")
            #expect(try await database.integer("SELECT count(*) FROM shopfloor_migrations") == 1)
        }
    }

    @Test func migrateNamesABadURLAndAnUnreachableServer() async throws {
        let bad = try await Self.run(["migrate", "--postgres", "postgres://nobody@127.0.0.1"])
        #expect(bad.status != 0)
        #expect(bad.output.contains("names no database"), "\(bad.output)")
        let nowhere = "postgres://postgres@127.0.0.1:1/shopfloor"
        let down = try await Self.run(["migrate", "--postgres", nowhere, "--wait-seconds", "1"])
        #expect(down.status != 0)
        #expect(down.output.contains("did not answer within"), "\(down.output)")
        #expect(down.output.contains("127.0.0.1:1/shopfloor"), "\(down.output)")
    }
}
