import ShopfloorReplication

/// Why a sync stopped.
public enum SyncError: Error, Sendable, CustomStringConvertible {
    case notEnrolled
    case noHQ
    case invalidToken
    case invalidURL(String)
    /// HQ answered with an error the client cannot fix by retrying.
    case refused(status: Int, code: String, message: String)
    /// HQ could not be reached (or kept failing) after every retry.
    case unreachable(attempts: Int, lastError: String)
    case protocolViolation(String)
    case unreadableCAFile(String)
    case unreadableCredentialFile(String)

    public var description: String {
        switch self {
        case .notEnrolled:
            "this device is not enrolled: run `shopfloor enroll --token-file FILE` (or `--token-file -` to paste it)"
        case .noHQ: "no HQ address: pass --hq URL or enrol with one"
        case .invalidToken: "the enrolment token is not valid: copy it again from `shopfloor-hq device add`"
        case .invalidURL(let url): "'\(url)' is not an http or https URL (e.g. http://127.0.0.1:8080)"
        case .refused(let status, let code, let message): "HQ refused (\(status) \(code)): \(message)"
        case .unreachable(let attempts, let lastError): "HQ unreachable after \(attempts) attempts: \(lastError)"
        case .protocolViolation(let message): "protocol error: \(message)"
        case .unreadableCAFile(let path): "cannot read the CA file '\(path)' (PEM certificates of HQ's authority)"
        case .unreadableCredentialFile(let path): "cannot read '\(path)'"
        }
    }
}

extension SyncError {
    /// Why the session stopped.
    init(_ failure: SyncSession.Failure) {
        switch failure {
        case .refused(let status, let code, let message): self = .refused(status: status, code: code, message: message)
        case .unreachable(let attempts, let lastError): self = .unreachable(attempts: attempts, lastError: lastError)
        case .protocolViolation(let message): self = .protocolViolation(message)
        }
    }
}
