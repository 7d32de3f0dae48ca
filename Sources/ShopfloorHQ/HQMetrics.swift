import Hummingbird
import Metrics
import Prometheus
import ShopfloorReplication
import ShopfloorStore
import Synchronization

/// HQ's metrics in Prometheus's text format, at `GET /metrics` (admin secret or an admin-scope API token).
///
/// Requests by route, method and status and their latency histograms come from Hummingbird's `MetricsMiddleware`, and
/// operations ingested from the push endpoint, through swift-metrics: ``bootstrap()`` points swift-metrics at this
/// registry, once per process (the `shopfloor-hq` executable does it; an application that embeds HQServer may
/// bootstrap its own). Conflicts by kind and each device's lag are read from the store at each scrape.
public enum HQMetrics {
    /// The registry `/metrics` renders.
    public static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)
    /// Lag gauges by device id, so a device that is gone stops being reported.
    private static let lagGauges = Mutex<[String: Prometheus.Gauge]>([:])

    /// Points swift-metrics at ``registry``; later calls do nothing.
    public static func bootstrap() {
        bootstrapped.withLock { done in
            guard !done else { return }
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .seconds(2), .seconds(5), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            done = true
        }
    }

    /// Operations a push stored.
    static func ingested(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "shopfloor_operations_ingested_total").increment(by: count)
    }

    static var conflicts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "shopfloor", metricName: "conflicts", unitName: "", helpText: "Conflicts recorded, by kind.")
    }
    static var openConflicts: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "shopfloor", metricName: "conflicts_open", unitName: "",
            helpText: "Conflicts nobody has acknowledged, by kind.")
    }
    static var operations: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "shopfloor", metricName: "operations", unitName: "", helpText: "Operations in HQ's log.")
    }
    static var lag: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "shopfloor", metricName: "device_lag", unitName: "operations",
            helpText: "Operations HQ has that the device has not acknowledged.")
    }

    /// The text exposition, after reading the store's gauges.
    static func scrape(replica: Replica, devices: [DeviceStatus]) throws -> String {
        for count in try replica.conflictCounts() {
            registry.makeGauge(descriptor: conflicts, labels: [("kind", count.kind)]).set(Int64(count.total))
            registry.makeGauge(descriptor: openConflicts, labels: [("kind", count.kind)]).set(Int64(count.open))
        }
        registry.makeGauge(descriptor: operations).set(Int64(replica.operationCount))
        lagGauges.withLock { gauges in
            var seen: Set<String> = []
            for device in devices where device.revoked == nil {
                seen.insert(device.deviceID)
                let gauge =
                    gauges[device.deviceID]
                    ?? registry.makeGauge(
                        descriptor: lag, labels: [("device", device.deviceID), ("name", device.name)])
                gauge.set(Int64(clamping: device.lag))
                gauges[device.deviceID] = gauge
            }
            for (id, gauge) in gauges where !seen.contains(id) {
                registry.unregisterGauge(gauge)
                gauges[id] = nil
            }
        }
        return registry.emitToString()
    }
}

extension HQServer {
    func registerMetrics(on router: Router<HQRequestContext>) {
        let server = self
        router.get("/metrics") { request, context in
            await server.api(request, context, .admin, orAdminSecret: true) { _ in
                let (replica, registry) = (server.replica, server.registry)
                let text = try await offload { try HQMetrics.scrape(replica: replica, devices: try registry.list()) }
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
            }
        }
    }
}
