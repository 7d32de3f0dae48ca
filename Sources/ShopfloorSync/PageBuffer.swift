import ShopfloorReplication

/// Pull pages fetched ahead of the fold, bounded in entries: HQ and the network work on the next pages while the
/// replica folds the ones it holds. One producer puts pages in order; one consumer takes them in groups.
actor PageBuffer {
    private var pages: [PullResponse] = []
    private var held = 0
    private var end: Result<Void, any Error>?
    private var closed = false
    private var consumer: CheckedContinuation<Void, Never>?
    private var producer: CheckedContinuation<Void, Never>?
    /// The producer waits while this many entries are buffered.
    let capacity: Int
    /// What the replica has committed so far: each request tells HQ (the device's lag, PROTOCOL.md §7).
    var committed: VersionVector

    init(capacity: Int, committed: VersionVector) {
        self.capacity = capacity
        self.committed = committed
    }

    func commit(_ vector: VersionVector) {
        committed = vector
    }

    static func entries(_ page: PullResponse) -> Int {
        page.operations.count + page.sequenced.count
    }

    /// Adds a page; waits while the buffer is full. Returns false once the consumer has gone.
    func put(_ page: PullResponse) async -> Bool {
        while held >= capacity && !closed {
            await withCheckedContinuation { producer = $0 }
        }
        guard !closed else { return false }
        pages.append(page)
        held += Self.entries(page)
        wakeConsumer()
        return true
    }

    /// No more pages: the pull reached HQ's end, or failed.
    func finish(_ result: Result<Void, any Error>) {
        end = result
        wakeConsumer()
    }

    /// Waits until at least `minimum` entries are buffered or the producer has finished, then takes every buffered
    /// page. An empty answer means the producer finished; its failure is thrown once the pages before it are taken.
    func take(minimum: Int) async throws -> [PullResponse] {
        while held < minimum && end == nil {
            await withCheckedContinuation { consumer = $0 }
        }
        if pages.isEmpty, case .failure(let error) = end { throw error }
        let taken = pages
        pages = []
        held = 0
        producer?.resume()
        producer = nil
        return taken
    }

    /// The consumer is done (or failed): a waiting producer returns, and later puts are dropped.
    func close() {
        closed = true
        producer?.resume()
        producer = nil
    }

    private func wakeConsumer() {
        consumer?.resume()
        consumer = nil
    }
}
