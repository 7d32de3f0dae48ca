import HTTPTypes

/// Every error HQ answers with: an HTTP status, a stable code (listed in SyncProtocol/PROTOCOL.md) and a message.
public struct HQError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Seconds, for a `Retry-After` header.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func malformed(_ message: String) -> HQError { HQError(.badRequest, "malformed_body", message) }
    static let unauthorized = HQError(
        .unauthorized, "unauthorized",
        "missing or wrong credentials: send Authorization: Basic base64(device_id:secret)")
    static let adminRequired = HQError(
        .unauthorized, "admin_required", "this endpoint needs the admin secret: send Authorization: Bearer ADMIN_SECRET"
    )
    static func revoked(_ device: String) -> HQError {
        HQError(.forbidden, "device_revoked", "device '\(device)' has been revoked; enrol it again")
    }
    static func tooLarge(_ message: String) -> HQError { HQError(.contentTooLarge, "batch_too_large", message) }
    static func unsupportedProtocol(_ version: String) -> HQError {
        HQError(
            HTTPResponse.Status(code: 426, reasonPhrase: "Upgrade Required"), "unsupported_protocol",
            "protocol version '\(version)' is not supported; this HQ speaks version 1: upgrade the client")
    }
    static let missingProtocol = HQError(
        .badRequest, "missing_protocol_version", "send the Shopfloor-Protocol header (this HQ speaks version 1)")
    static func tooManyAttempts(_ seconds: Int) -> HQError {
        HQError(
            .tooManyRequests, "too_many_attempts",
            "too many failed credentials from this address or for this device; retry in \(seconds) s",
            retryAfter: seconds)
    }
    static func notFound(_ message: String) -> HQError { HQError(.notFound, "not_found", message) }

    // The REST API's errors (`/api/v1`): one shape, a stable code, a message in domain words.
    static func apiMalformed(_ message: String) -> HQError { HQError(.badRequest, "malformed", message) }
    static func apiUnauthorized(_ message: String) -> HQError { HQError(.unauthorized, "unauthorized", message) }
    static func forbidden(_ message: String) -> HQError { HQError(.forbidden, "forbidden", message) }
    static func invalidTransition(_ message: String) -> HQError { HQError(.conflict, "invalid_transition", message) }
    static func conflict(_ message: String) -> HQError { HQError(.conflict, "conflict", message) }
    static func validationFailed(_ message: String) -> HQError {
        HQError(.unprocessableContent, "validation_failed", message)
    }
}
