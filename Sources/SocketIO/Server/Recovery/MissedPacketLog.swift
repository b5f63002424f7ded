/// Every EVENT without an ack that a namespace sent while connection state recovery is on, once, in order,
/// so a client that comes back can be given what it missed. One log per namespace: a broadcast is kept once,
/// never copied per session (its encoded bytes are shared with what was sent).
///
/// Each packet gets the next sequence number; its decimal text is the offset carried as the packet's last
/// argument. Offsets are contiguous, so an offset is a position: finding where a client stopped costs no search.
///
/// Bounded by ``byteLimit``: the encoded bytes plus the target lists plus ``entryOverhead`` per packet. Past
/// it the oldest packets are dropped first, and ``firstSequence`` moves on, so a recovery that needs a dropped
/// packet is refused (``MissedPackets/offsetDropped``) rather than delivered with a hole. Service thread only.
struct MissedPacketLog {
    /// What one packet was sent to: the rooms (nil: the whole namespace) and the sids skipped.
    struct Target {
        let rooms: [String]?
        let skip: [String]

        /// Whether a session that was in `sessionRooms` (its own sid included) would have received it.
        func reaches(_ sessionRooms: Set<String>) -> Bool {
            if let rooms, !rooms.contains(where: sessionRooms.contains) { return false }
            return !skip.contains(where: sessionRooms.contains)
        }
    }

    struct Entry {
        let packet: EncodedPacket
        let target: Target
        let bytes: Int
    }

    /// Bytes counted per packet beside its payload: the 48-byte entry (and the array's spare capacity for it),
    /// the payload buffer's 32-byte header, and the target's one-sid array (48), rounded up for malloc.
    static let entryOverhead = 160

    let byteLimit: Int
    /// Retained packets, oldest first, starting at ``head`` (the dropped prefix is compacted away in bulk).
    private var entries: [Entry] = []
    private var head = 0
    /// The first sequence number this log handed out; offsets below it are not its own.
    let baseSequence: UInt64
    /// The sequence number of `entries[head]` (or of the next packet when the log is empty).
    private(set) var firstSequence: UInt64
    /// The sequence number the next packet gets.
    private(set) var nextSequence: UInt64
    /// Bytes held, as counted against ``byteLimit``.
    private(set) var bytes = 0
    /// Packets dropped at the bound since the start.
    private(set) var dropped: UInt64 = 0

    /// - Parameters:
    ///   - byteLimit: most bytes held; the oldest packets go first past it.
    ///   - firstSequence: the first offset handed out. The server starts from a random one, so offsets from
    ///     an earlier run of the process are unknown here rather than pointing at unrelated packets.
    init(byteLimit: Int, firstSequence: UInt64) {
        self.byteLimit = byteLimit
        self.firstSequence = firstSequence
        baseSequence = firstSequence
        nextSequence = firstSequence
    }

    var count: Int { entries.count - head }

    /// The offset the next appended packet will carry.
    var nextOffset: String { String(nextSequence) }

    /// Keeps `packet` (already carrying ``nextOffset``), dropping the oldest packets until it fits.
    /// A packet larger than the whole bound empties the log and is not kept: its offset is then the last
    /// dropped one, and a client holding it has nothing to miss before it.
    mutating func append(_ packet: EncodedPacket, target: Target) {
        let size = packet.byteCount + Self.entryOverhead
            + (target.rooms?.reduce(0) { $0 + $1.utf8.count } ?? 0) + target.skip.reduce(0) { $0 + $1.utf8.count }
        nextSequence &+= 1
        while bytes + size > byteLimit, count > 0 { dropOldest() }
        guard size <= byteLimit else {
            dropped &+= 1
            firstSequence = nextSequence
            return
        }
        entries.append(Entry(packet: packet, target: target, bytes: size))
        bytes += size
    }

    private mutating func dropOldest() {
        bytes -= entries[head].bytes
        head += 1
        firstSequence &+= 1
        dropped &+= 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }

    /// What a client that last saw `offset` and was in `rooms` missed: every later packet that reached those
    /// rooms, oldest first; or why that cannot be told.
    func missed(after offset: String, rooms: Set<String>) -> MissedPackets {
        guard let seen = Self.sequence(from: offset), seen >= baseSequence, seen < nextSequence else { return .offsetUnknown }
        guard seen &+ 1 >= firstSequence else { return .offsetDropped }
        var packets: [EncodedPacket] = []
        var index = head + Int(seen &+ 1 &- firstSequence)
        while index < entries.count {
            let entry = entries[index]
            if entry.target.reaches(rooms) { packets.append(entry.packet) }
            index += 1
        }
        return .packets(packets)
    }

    /// The newest packets that reached `rooms`, for a recovery store's record of a session that dropped: every
    /// one with a sequence in `[floor, nextSequence)`, oldest first. The scan goes back at most `scanLimit`
    /// packets and keeps at most `byteLimit` bytes; `floor` is where it stopped, so a client whose offset is
    /// older than `floor - 1` is refused rather than given a hole.
    func recent(reaching rooms: Set<String>, scanLimit: Int, byteLimit: Int) -> (floor: UInt64, packets: [(sequence: UInt64, packet: EncodedPacket)]) {
        var packets: [(sequence: UInt64, packet: EncodedPacket)] = []
        var bytes = 0
        var index = entries.count - 1
        let lowest = max(head, entries.count - scanLimit)
        while index >= lowest {
            let entry = entries[index]
            let sequence = firstSequence &+ UInt64(index - head)
            if entry.target.reaches(rooms) {
                bytes += entry.bytes
                if bytes > byteLimit { return (sequence &+ 1, packets.reversed()) }
                packets.append((sequence, entry.packet))
            }
            index -= 1
        }
        return (firstSequence &+ UInt64(lowest - head), packets.reversed())
    }

    /// The sequence number an offset names: plain decimal digits only (no sign, no spaces), as this log writes them.
    static func sequence(from offset: String) -> UInt64? {
        guard !offset.isEmpty, offset.utf8.count <= 20, offset.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(offset)
    }
}

/// The answer of ``MissedPacketLog/missed(after:rooms:)``.
enum MissedPackets {
    /// What the client missed, oldest first (possibly nothing).
    case packets([EncodedPacket])
    /// The client's offset is older than the oldest packet kept: something it missed was dropped at the bound.
    case offsetDropped
    /// The offset was never handed out by this log.
    case offsetUnknown
}
