/// Everything an Engine.IO server can be tuned with. Defaults are the reference servers' own.
public struct EngineConfiguration: Sendable {
    /// How often the server pings each client, in milliseconds (reference default 25 000).
    public var pingInterval: Int64
    /// How long a client has to answer a ping before it is dropped, in milliseconds (reference default 20 000).
    public var pingTimeout: Int64
    /// The largest message or polling body a client may send, in bytes (reference default 1 000 000).
    public var maxPayload: Int
    /// The most outbound bytes that may wait for one client at a time, in bytes (default 16 MiB): past it
    /// the client is not reading and its session ends with "transport error". The default holds sixteen
    /// replies to max-payload messages, a full polling batch of them, for a client that reads.
    public var maxBuffered: Int
    /// The most outbound bytes that may wait for all clients together (default 1 GiB; the quench command
    /// sizes it to the machine): at it, the clients holding the most are closed first (``OutboundMemory``).
    public var maxBufferedTotal: Int
    /// The URL path the engine serves, with leading and trailing slash (`/socket.io/`).
    public var path: String
    /// The transports clients may use: names in ``registry`` (others are ignored).
    public var transports: Set<TransportName>
    /// Every transport the engine knows (``TransportRegistry/standard``: long-polling and WebSocket).
    public var registry: TransportRegistry
    /// Whether a session may move to another transport its own lists (polling to WebSocket).
    public var allowUpgrades: Bool
    /// Which browser origins may connect.
    public var cors: CORSPolicy
    /// Sessions and handshakes per client address (``AddressLimits``).
    public var addressLimits: AddressLimitConfiguration
    /// Events, namespace connects and control packets per client (``ClientBudget``).
    public var budgets: ClientBudgetConfiguration
    /// Whether Engine.IO 3 clients (`EIO=3`) are served beside v4 ones; off by default, as Node's `allowEIO3`.
    public var allowEIO3: Bool

    /// - Parameters:
    ///   - pingInterval: milliseconds between server pings; default 25 000.
    ///   - pingTimeout: milliseconds a client has to answer a ping; default 20 000.
    ///   - maxPayload: largest accepted message or polling body in bytes; default 1 000 000.
    ///   - maxBuffered: most outbound bytes queued per session; default 16 MiB (``defaultMaxBuffered``).
    ///   - maxBufferedTotal: most outbound bytes queued for all sessions together; default 1 GiB.
    ///   - path: the URL path served, normalised to `/…/`; default `/socket.io/`.
    ///   - transports: the transports offered; default every one in `registry`.
    ///   - registry: the transports known; default ``TransportRegistry/standard`` (polling and WebSocket).
    ///   - allowUpgrades: whether sessions may upgrade (polling to WebSocket); default true.
    ///   - cors: the origin policy; default any origin, as the seed app has it.
    ///   - addressLimits: the per-address bounds; default 5,000 sessions and 100 handshakes a second (burst 1,000).
    ///   - budgets: the per-client budgets; defaults in ``ClientBudgetConfiguration``.
    ///   - allowEIO3: whether Engine.IO 3 clients are served; default false.
    public init(
        pingInterval: Int64 = 25_000,
        pingTimeout: Int64 = 20_000,
        maxPayload: Int = 1_000_000,
        maxBuffered: Int = EngineConfiguration.defaultMaxBuffered,
        maxBufferedTotal: Int = 1 << 30,
        path: String = "/socket.io/",
        transports: Set<TransportName>? = nil,
        registry: TransportRegistry = .standard,
        allowUpgrades: Bool = true,
        cors: CORSPolicy = .anyOrigin,
        addressLimits: AddressLimitConfiguration = AddressLimitConfiguration(),
        budgets: ClientBudgetConfiguration = ClientBudgetConfiguration(),
        allowEIO3: Bool = false
    ) {
        self.allowEIO3 = allowEIO3
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.maxBuffered = maxBuffered
        self.maxBufferedTotal = maxBufferedTotal
        self.path = EngineConfiguration.normalise(path: path)
        self.transports = transports ?? Set(registry.names)
        self.registry = registry
        self.allowUpgrades = allowUpgrades
        self.cors = cors
        self.addressLimits = addressLimits
        self.budgets = budgets
    }

    /// 16 MiB: sixteen replies to max-payload (1 MB) messages with room to spare, so a reading client's
    /// burst never reaches it, while a client that stops reading costs at most this much before it goes.
    public static let defaultMaxBuffered = 16 * 1024 * 1024

    /// `socket.io` and `/socket.io` both mean `/socket.io/`: clients always send the trailing slash.
    public static func normalise(path: String) -> String {
        var result = path
        if !result.hasPrefix("/") { result = "/" + result }
        if !result.hasSuffix("/") { result += "/" }
        return result
    }
}
