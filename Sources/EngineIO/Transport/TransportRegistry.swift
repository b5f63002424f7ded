/// The transports an engine knows, by name. The handshake's `upgrades`, the check of `transport=` and
/// the upgrade rules all come from here; `EngineConfiguration.transports` picks which of them are offered.
///
/// Bounded by whoever registers: a handful of kinds, looked up by a linear scan on handshakes and
/// upgrades only (never per packet).
public struct TransportRegistry: Sendable {
    /// Every registered kind, in registration order.
    public private(set) var kinds: [TransportKind]

    public init(_ kinds: [TransportKind]) {
        self.kinds = []
        for kind in kinds { register(kind) }
    }

    /// Adds `kind`, replacing a kind registered under the same name.
    public mutating func register(_ kind: TransportKind) {
        if let index = kinds.firstIndex(where: { $0.name == kind.name }) {
            kinds[index] = kind
        } else {
            kinds.append(kind)
        }
    }

    /// This registry with `kind` added (or replaced).
    public func registering(_ kind: TransportKind) -> TransportRegistry {
        var copy = self
        copy.register(kind)
        return copy
    }

    /// The kind registered under `name`, if any.
    public func kind(named name: TransportName) -> TransportKind? {
        kinds.first { $0.name == name }
    }

    /// The kind a request's `transport` parameter names, if any (compared as bytes: every request asks).
    public func kind(in query: QueryParameters) -> TransportKind? {
        query.withValue("transport") { value in
            guard let value else { return nil }
            return kinds.first { kind in QueryParameters.text(kind.name.rawValue, equals: value) }
        }
    }

    /// The names of every registered kind, in registration order.
    public var names: [TransportName] { kinds.map(\.name) }
}
