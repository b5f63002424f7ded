/// The packets a dropped session missed, as a recovery store hands a list of them back: one string of
/// netstrings (`<length>:<bytes>,` per packet, oldest first, the length in decimal without leading zeros;
/// https://cr.yp.to/proto/netstrings.txt). Redis' take scripts build it (`frames` in RecoveryScripts.swift).
///
/// Why one string rather than one reply element per packet: the Redis reader refuses arrays of more than
/// 1,024 elements (it reads pub/sub traffic that anyone with access to Redis can write), while the only
/// bound on what a session may miss is its bytes, 256 KiB by default: 43,690 packets of the smallest kind
/// (`[[""]]`, 6 bytes). As elements, 1,025 of them made the reply unreadable after the script had deleted the
/// session. As one string, the count is bounded by nothing but the bytes, and the reader's bound on a string
/// (16 MiB) is far above what the byte bound lets through.
///
/// Decoding checks every frame: the string comes from Redis, which anyone with access to it could change.
public struct PacketFrames: Sendable, Equatable {
    /// The framed packets, as the store returned them.
    public let bytes: [UInt8]

    /// Wraps what a store returned (checked only by ``packets()``).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Frames `packets`, oldest first, as the take scripts do (for stores kept elsewhere, and tests).
    public init(packets: [[UInt8]]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(packets.reduce(0) { $0 + $1.count + 8 })
        for packet in packets {
            bytes.append(contentsOf: String(packet.count).utf8)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: packet)
            bytes.append(UInt8(ascii: ","))
        }
        self.bytes = bytes
    }

    /// No packets.
    public static let empty = PacketFrames(bytes: [])

    /// The longest length field read (ten digits: lengths up to 9,999,999,999, beyond any string Redis hands
    /// this reader), so a run of digits cannot overflow the length.
    static let maxLengthDigits = 10

    /// The packets, oldest first.
    /// - Throws: ``StoredRecordError`` naming the first frame that is not `<length>:<bytes>,`.
    public func packets() throws(StoredRecordError) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let digitsStart = index
            var length = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"),
                index - digitsStart < Self.maxLengthDigits
            {
                length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            let digits = index - digitsStart
            guard digits > 0 else { throw frameError(packets.count, "has no length") }
            guard digits == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { throw frameError(packets.count, "has a length with a leading zero") }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw frameError(packets.count, "has no ':' after its length") }
            index += 1
            guard length < bytes.count - index else { throw frameError(packets.count, "is longer than what follows (\(length) bytes)") }
            packets.append(Array(bytes[index..<(index + length)]))
            index += length
            guard bytes[index] == UInt8(ascii: ",") else { throw frameError(packets.count - 1, "does not end with ','") }
            index += 1
        }
        return packets
    }

    private func frameError(_ position: Int, _ what: String) -> StoredRecordError {
        StoredRecordError("frame \(position + 1) of a packet list \(what)")
    }
}
