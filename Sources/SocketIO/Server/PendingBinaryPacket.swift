/// A BINARY_EVENT or BINARY_ACK whose attachments are still arriving, with the byte budget they share.
///
/// Why a budget: each attachment is one Engine.IO message of up to maxPayload bytes, and the header may
/// announce up to ``SocketIOPacket/maxAttachments`` of them, so without it one connection could make the
/// server hold maxPayload × maxAttachments bytes (about 100 MB at the defaults) before the packet is
/// complete. All attachments of one packet together may not exceed `byteLimit` (maxPayload): the packet
/// as a whole is then no larger than what one message may carry.
struct PendingBinaryPacket {
    /// The decoded header, placeholders still in its data.
    let packet: SocketIOPacket
    /// The attachments received so far, in order.
    private(set) var attachments: [[UInt8]] = []
    /// Their bytes together.
    private(set) var bytes = 0
    /// The most bytes all attachments together may hold.
    let byteLimit: Int

    /// - Parameters:
    ///   - packet: a binary packet announcing at least one attachment.
    ///   - byteLimit: the budget for all its attachments together (the engine's maxPayload).
    init(packet: SocketIOPacket, byteLimit: Int) {
        self.packet = packet
        self.byteLimit = byteLimit
    }

    /// Whether every announced attachment has arrived.
    var isComplete: Bool { attachments.count >= packet.attachmentCount }

    /// Adds the next attachment, or refuses it if the packet would pass its byte budget (nothing is kept then).
    mutating func add(_ attachment: [UInt8]) throws(SocketIOPacketError) {
        guard attachment.count <= byteLimit - bytes else {
            throw SocketIOPacketError(
                .attachmentsTooLarge,
                "attachment \(attachments.count + 1) of \(packet.attachmentCount) brings them to \(bytes + attachment.count) bytes (limit \(byteLimit))")
        }
        bytes += attachment.count
        attachments.append(attachment)
    }
}
