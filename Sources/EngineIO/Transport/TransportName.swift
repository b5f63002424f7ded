/// A transport's name as clients spell it in `transport=` and the open packet's `upgrades`.
///
/// A struct rather than an enum, so a transport registered from outside the engine names itself; each
/// transport's own file adds its name as a static member (`.polling`, `.websocket`).
public struct TransportName: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public var description: String { rawValue }
}
