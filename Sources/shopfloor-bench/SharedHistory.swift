import ShopfloorReplication

/// A shop's history after the base: devices working side by side and syncing every `syncEvery` operations, merged
/// in canonical order (what HQ holds after everyone has synced).
struct SharedHistory: Sendable {
    var devices: [DeviceStream]
    let syncEvery: Int
    private var round = 0
    private var nextDevice = 0

    init(base: BaseHistory, devices: Int = 8, syncEvery: Int = 500) {
        self.devices = base.devices(devices)
        self.syncEvery = syncEvery
    }

    /// The next `count` operations in canonical order.
    mutating func next(_ count: Int) -> [ShopOperation] {
        var batch: [ShopOperation] = []
        batch.reserveCapacity(count)
        while batch.count < count {
            if nextDevice == devices.count {
                nextDevice = 0
                round += 1
                if round % syncEvery == 0 { syncAll() }
            }
            // Within a round every device has the same lamport, and ids sort ascending: canonical order.
            batch.append(devices[nextDevice].next())
            nextDevice += 1
        }
        return batch
    }

    mutating func syncAll() {
        var vector = VersionVector()
        var lamport: UInt64 = 0
        for device in devices {
            vector = vector.merged(with: device.author.vector)
            lamport = max(lamport, device.author.lamport)
        }
        for index in devices.indices { devices[index].author.see(vector, lamport: lamport) }
    }
}
