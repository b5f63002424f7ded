import EngineIO

/// What the Socket.IO layer can be tuned with (the Engine.IO knobs live in `EngineConfiguration`).
/// Defaults are the reference server's.
public struct SocketIOConfiguration: Sendable {
    /// How long an Engine.IO connection may stay without joining any namespace before it is closed, in
    /// milliseconds (reference default 45 000). Zero or less turns the check off.
    public var connectTimeout: Int64
    /// How many acknowledgements one socket may owe at once (emits with an ack the client has not answered);
    /// past it the oldest is dropped and counted. The reference servers keep them without limit.
    public var maxPendingAcks: Int
    /// Connection state recovery (Socket.IO 4.6+): how long, in milliseconds, a socket that dropped keeps its
    /// sid, rooms and data, and may get the packets it missed. 0 (the default, as in the reference server)
    /// turns recovery off: no pid, no offsets, nothing kept.
    public var recoveryWindow: Int64
    /// With recovery on, the most bytes each namespace's log of sent packets holds; the oldest go first.
    public var recoveryLogBytes: Int
    /// With recovery on, the most dropped sessions each namespace keeps; the oldest go first.
    public var maxRecoverableSessions: Int
    /// With recovery on, the most dropped sessions each namespace keeps for one client address (grouped as
    /// the per-address limits group it); past it that address's oldest goes. The quench command sets it to
    /// `--max-sessions-per-address`: an address keeps at most as many as it may have open.
    public var maxRecoverableSessionsPerAddress: Int

    /// With recovery on and a message queue, the most bytes of missed packets kept in Redis for one dropped
    /// session (its record's share of the log included); past it the session is made unrecoverable.
    public var recoveryAwayBytes: Int

    /// How packets are written on the wire: socket.io-parser's JSON text (the default) or msgpack.
    public var parser: SocketIOParser

    public static let defaultRecoveryLogBytes = 16 << 20
    public static let defaultRecoveryAwayBytes = 256 << 10
    public static let defaultMaxRecoverableSessions = 100_000

    /// - Parameters:
    ///   - connectTimeout: milliseconds a new connection has to join a namespace; default 45 000.
    ///   - maxPendingAcks: acknowledgements one socket may owe at once; default 100.
    ///   - recoveryWindow: milliseconds a dropped socket's state is kept; default 0 (recovery off).
    ///   - recoveryLogBytes: bytes of sent packets each namespace keeps for recovery; default 16 MiB.
    ///   - maxRecoverableSessions: dropped sessions each namespace keeps for recovery; default 100 000.
    ///   - recoveryAwayBytes: with a message queue, bytes kept in Redis per dropped session; default 256 KiB.
    ///   - maxRecoverableSessionsPerAddress: dropped sessions each namespace keeps per client address; default 5 000.
    ///   - parser: the wire format of Socket.IO packets; default JSON.
    public init(
        connectTimeout: Int64 = 45_000, maxPendingAcks: Int = 100, recoveryWindow: Int64 = 0,
        recoveryLogBytes: Int = defaultRecoveryLogBytes, maxRecoverableSessions: Int = defaultMaxRecoverableSessions,
        recoveryAwayBytes: Int = defaultRecoveryAwayBytes,
        maxRecoverableSessionsPerAddress: Int = AddressLimitConfiguration.defaultMaxSessions,
        parser: SocketIOParser = .json
    ) {
        self.parser = parser
        self.maxRecoverableSessionsPerAddress = maxRecoverableSessionsPerAddress
        self.recoveryAwayBytes = recoveryAwayBytes
        self.connectTimeout = connectTimeout
        self.maxPendingAcks = maxPendingAcks
        self.recoveryWindow = recoveryWindow
        self.recoveryLogBytes = recoveryLogBytes
        self.maxRecoverableSessions = maxRecoverableSessions
    }
}
