/// The seed app's conversation as one client sees it: which `user_message` goes out next, and whether each
/// Socket.IO packet the server sends is the one the app must send, to the byte.
///
/// With connection state recovery on (`quench --recovery-window`), each event ends with an offset argument,
/// `,"<digits>"]`; it is set aside before the comparison, so the same bytes are checked either way.
///
/// Both transports' connections judge packets here, so a reply that passes over WebSocket passes over
/// polling and a wrong one fails over both.
struct ChatScript {
    /// What a Socket.IO packet from the server turned out to be.
    enum Verdict {
        /// The CONNECT reply or the welcome; `complete` once both have arrived, when the client counts as connected.
        case connectStep(complete: Bool)
        /// A hydration reminder.
        case reminder
        /// The right reply to the message in flight, `latency` ns after it was sent.
        case reply(latency: Int64)
        /// Anything else: the client fails with this text.
        case failure(String)
    }

    /// This client's number, part of every message text so replies cannot be mixed up between clients.
    let index: Int
    private var sawConnectReply = false
    private var sawWelcome = false
    private var sequence = 0
    /// When the message in flight was sent (monotonic ns), and its expected reply prefix.
    private var inFlight: (sentAt: Int64, expected: [UInt8])?

    init(index: Int) {
        self.index = index
    }

    /// The text of the last `user_message` (what ``nextMessage()`` put in it).
    private(set) var inFlightText = ""

    /// When the message still waiting for its reply was sent (monotonic ns); nil when none waits.
    var inFlightSince: Int64? { inFlight?.sentAt }

    private static let connectReply = Array("40".utf8)
    private static let welcome = Array("42[\"system_message\",{\"text\":\"Connected to server\"}]".utf8)
    private static let botPrefix = Array("42[\"bot_message\",{\"text\":\"".utf8)
    private static let reminderPrefix = Array("42[\"bot_message\",{\"text\":\"Remember to stay hydrated! It's ".utf8)
    private static let replySuffix = Array(" (dummy reply)\"}]".utf8)

    /// The next `user_message` packet, remembering exactly which reply must come back; timed from now
    /// unless `messageWritten(at:)` says otherwise.
    mutating func nextMessage() -> [UInt8] {
        sequence += 1
        let text = "c\(index)-\(sequence)"
        inFlightText = text
        inFlight = (Clock.monotonic(), Array("42[\"bot_message\",{\"text\":\"\(text) rcvd at ".utf8))
        return Array("42[\"user_message\",{\"text\":\"\(text)\"}]".utf8)
    }

    /// Restarts the in-flight message's clock: polling queues a message until its POST goes out.
    mutating func messageWritten(at time: Int64) {
        inFlight?.sentAt = time
    }

    /// Judges one Socket.IO packet (an Engine.IO message, `4…`) from the server.
    mutating func judge(_ packet: UnsafeRawBufferPointer) -> Verdict {
        let end = Self.bodyEnd(packet)
        if end == Self.welcome.count - 1 && packet.starts(with: Self.welcome.dropLast()) {
            sawWelcome = true
        } else if packet.starts(with: Self.reminderPrefix) {
            return .reminder
        } else if packet.starts(with: Self.botPrefix) {
            return checkReply(packet, bodyEnd: end)
        } else if packet.starts(with: Self.connectReply) && packet.count > 2 && packet[2] == UInt8(ascii: "{") {
            sawConnectReply = true
        } else {
            return .failure("unexpected frame: \(String(decoding: packet.prefix(80), as: UTF8.self))")
        }
        return .connectStep(complete: sawConnectReply && sawWelcome)
    }

    /// A reply is right only if it echoes this client's text, then `HH:MM:SS`, then the suffix.
    private mutating func checkReply(_ packet: UnsafeRawBufferPointer, bodyEnd: Int) -> Verdict {
        guard let (sentAt, expected) = inFlight else { return .failure("reply with no message in flight") }
        inFlight = nil
        let timeStart = expected.count
        let suffix = Self.replySuffix.dropLast()  // up to the closing bracket, which bodyEnd points at
        guard bodyEnd == timeStart + 8 + suffix.count, packet.starts(with: expected),
            Self.isClock(packet[timeStart..<(timeStart + 8)]),
            packet[(timeStart + 8)..<bodyEnd].elementsEqual(suffix)
        else {
            return .failure("wrong reply: \(String(decoding: packet.prefix(120), as: UTF8.self))")
        }
        return .reply(latency: Clock.monotonic() - sentAt)
    }

    /// Where the packet's closing `]` would be without a recovery offset: the index of the comma of a trailing
    /// `,"<digits>"]`, or of the last byte otherwise; -1 (matching no expected length) when it does not end in `]`.
    static func bodyEnd(_ packet: UnsafeRawBufferPointer) -> Int {
        let last = packet.count - 1
        guard last >= 0, packet[last] == UInt8(ascii: "]") else { return -1 }
        guard last >= 4, packet[last - 1] == UInt8(ascii: "\"") else { return last }
        var index = last - 2
        while index > 0, packet[index] >= UInt8(ascii: "0"), packet[index] <= UInt8(ascii: "9") { index -= 1 }
        guard index < last - 2, index >= 1, packet[index] == UInt8(ascii: "\""), packet[index - 1] == UInt8(ascii: ",") else { return last }
        return index - 1
    }

    /// `HH:MM:SS`: eight bytes, digits with colons at offsets 2 and 5.
    static func isClock(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count == 8 else { return false }
        for (offset, byte) in bytes.enumerated() {
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if offset == 2 || offset == 5 ? byte != UInt8(ascii: ":") : !isDigit { return false }
        }
        return true
    }
}
