/// Why talking to the broker failed.
enum AMQPError: Error, CustomStringConvertible {
    /// The broker refused the login or the virtual host: retrying alone will not help, so every attempt logs it.
    case refused(String)
    /// Anything else: unreachable, closed, a heartbeat missed, a declaration refused.
    case io(String)

    var description: String {
        switch self {
        case .refused(let why): why
        case .io(let why): why
        }
    }
}
