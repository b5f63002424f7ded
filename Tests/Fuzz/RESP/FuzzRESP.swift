import QuenchRedis
import SocketIO

/// The RESP2 reader Redis' replies go through, and the reading of a recovery take's reply on top of it.
///
/// 1. The bytes fed at once and fed in small pieces (sizes taken from the input) give the same replies and
///    stop the same way (an error, or waiting for more bytes): the reader is incremental.
/// 2. Every reply written back as RESP reads back as the same reply.
/// 3. Every reply read as a take script's answer gives an answer, never a trap; a taken session's two
///    packet lists (one framed string each) decode or throw, and what decodes frames back to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = read([input[...]])
    let step = 1 + Int(input.first ?? 0) % 17
    let pieces = stride(from: 0, to: input.count, by: step).map { input[$0..<min($0 + step, input.count)] }
    let pieced = read(pieces)
    Fuzz.check(whole.replies == pieced.replies, "pieces of \(step) bytes give other replies")
    Fuzz.check(whole.failed == pieced.failed, "pieces of \(step) bytes fail differently")

    for reply in whole.replies {
        var written: [UInt8] = []
        write(reply, to: &written)
        var parser = RESPParser()
        parser.append(written)
        let again = try? parser.next()
        Fuzz.check(again == reply, "\(reply) written and read back is \(String(describing: again))")
        Fuzz.check(parser.bufferedCount == 0, "bytes left over after \(reply)")

        if case .found(let take) = RedisRecoveryStore.takeAnswer(.success(reply)) {
            for list in [take.ownerPackets, take.adoptedPackets] {
                guard let packets = try? list.packets() else { continue }
                Fuzz.check(PacketFrames(packets: packets) == list, "a packet list read from a take does not frame back to itself")
            }
        }
    }
    return 0
}

/// Feeds `pieces` in order, taking every complete reply after each one, until an error.
private func read(_ pieces: [ArraySlice<UInt8>]) -> (replies: [RESPValue], failed: Bool) {
    var parser = RESPParser()
    var replies: [RESPValue] = []
    for piece in pieces {
        parser.append(piece)
        do {
            while let reply = try parser.next() { replies.append(reply) }
        } catch {
            return (replies, true)
        }
    }
    return (replies, false)
}

/// The RESP2 form of `value`.
private func write(_ value: RESPValue, to out: inout [UInt8]) {
    func line(_ kind: Character, _ text: some StringProtocol) {
        out.append(UInt8(ascii: kind.unicodeScalars.first!))
        out += Array(text.utf8) + [13, 10]
    }
    switch value {
    case .simpleString(let text): line("+", text)
    case .error(let text): line("-", text)
    case .integer(let number): line(":", String(number))
    case .null: line("$", "-1")
    case .bulkString(let bytes):
        line("$", String(bytes.count))
        out += bytes + [13, 10]
    case .array(let elements):
        line("*", String(elements.count))
        for element in elements { write(element, to: &out) }
    }
}
