import Logging
import ServiceLifecycle
import ShopfloorHQ
import ShopfloorStore

/// HQ served from this process on 127.0.0.1 (a free port) for the duration of `body`.
enum InProcessHQ {
    struct DidNotStart: Error {}

    static func with<T>(replica: Replica, _ body: (HQServer, String) async throws -> T) async throws -> T {
        let logger = Bench.logger("bench.hq")
        let server = try HQServer(
            replica: replica, configuration: HQConfiguration(host: "127.0.0.1", port: 0), logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try server.application { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw DidNotStart() }
            do {
                let result = try await body(server, "http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}
