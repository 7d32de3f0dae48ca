import ShopfloorDomain

/// Why a replica operation failed.
public enum ReplicaError: Error, Sendable, CustomStringConvertible {
    /// The domain refused the command; nothing was recorded.
    case refused(DomainError)
    case notInitialized(path: String)
    case alreadyInitialized(path: String)
    case invalidName(String)
    case importFailed(line: Int, reason: String)
    case permissions(path: String, reason: String)

    public var description: String {
        switch self {
        case .refused(let error): error.description
        case .notInitialized(let path):
            "no replica at '\(path)': create one there first"
        case .alreadyInitialized(let path): "'\(path)' already holds a replica; choose another path"
        case .invalidName(let name): "invalid replica name '\(name)': use 1–64 printable characters"
        case .importFailed(let line, let reason): "line \(line): \(reason); nothing was imported"
        case .permissions(let path, let reason):
            "cannot make '\(path)' readable by its owner only (\(reason)): it holds credentials; check who owns it"
        }
    }
}
