/// Which browser origins may talk to the server, and the headers that tell the browser so.
public enum CORSPolicy: Sendable, Equatable {
    /// Every origin (`--cors-origins '*'`, the seed's setting).
    case anyOrigin
    /// Only these exact origins (`scheme://host[:port]`).
    case origins([String])

    /// Parses the command-line form: `*` or a comma-separated list. Nil for an empty list.
    public init?(parsing text: String) {
        let trimmed = text.trimmingSpaces
        if trimmed == "*" {
            self = .anyOrigin
            return
        }
        let list = trimmed.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
        guard !list.isEmpty else { return nil }
        self = .origins(list.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 })
    }

    /// Whether a request with this Origin header may proceed. Requests without one (non-browser
    /// clients) always may: CORS is a browser's protection, not authentication.
    public func allows(origin: String?) -> Bool {
        guard let origin else { return true }
        switch self {
        case .anyOrigin: return true
        case .origins(let list): return list.contains(origin)
        }
    }

    /// The CORS headers for a response to an allowed request.
    public func responseHeaders(origin: String?) -> [HTTPHeader] {
        guard let origin, allows(origin: origin) else { return [] }
        return [HTTPHeader("Access-Control-Allow-Origin", origin), HTTPHeader("Access-Control-Allow-Credentials", "true")]
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs (no Foundation here).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
            let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[first...last])
    }
}
