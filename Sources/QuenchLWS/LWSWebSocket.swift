import CLibWebSockets
import EngineIO
import Glibc

/// One WebSocket connection: the engine's ``WebSocketConnection`` on top of an lws `wsi`.
///
/// Outgoing frames wait in a queue and leave one per writable callback, as lws requires; incoming
/// fragments are joined into whole messages before the engine sees them. What waits for the client (the
/// queue and the tail lws keeps of the last write) is bounded by `--max-buffered` (``outbound``), and counts
/// in the engine's `--max-buffered-total` (a frame written into an empty queue is always accepted, so each
/// client can pass that total by one frame at most before the next queued one has the biggest closed).
final class LWSWebSocket: LWSPeer, WebSocketConnection {
    /// The engine transport fed by this socket; nil once the engine let go of it.
    var transport: WebSocketTransport?
    /// Frames waiting for a writable callback: an optional Engine.IO type digit written in front of
    /// the payload, which may be shared with other connections (a broadcast) and is never copied here.
    private var outgoing: [(digit: UInt8?, bytes: [UInt8], binary: Bool)] = []
    private var head = 0
    /// The bytes of ``outgoing`` plus ``heldByLWS`` against `--max-buffered`, and how many have left.
    private(set) var outbound: OutboundBudget
    /// The length of the last write if lws kept part of it (the kernel did not take it all), else 0. lws
    /// keeps at most one write's tail: nothing more is written until it has gone (lws_partial_buffered).
    private var heldByLWS = 0
    private var closeCode: UInt16?
    /// A message arriving in several fragments, joined here.
    private var partial: [UInt8] = []
    private var partialIsBinary = false
    private let maxPayload: Int
    /// Whether frames may be written at once when nothing is queued: only once lws has finished establishing
    /// the connection (the open packet queued in the ESTABLISHED callback waits for the first writable one).
    var mayWriteDirectly = false
    /// Set once the close frame has been handed to lws: lws may still offer a writable callback.
    private var closeSent = false
    private var hasEnded = false
    /// The socket's descriptor when the connection is plain TCP, where a broadcast's shared frame is sent
    /// with one `send()` (see ``sendShared(_:)``); -1 over TLS, where every write goes through lws.
    private let plainDescriptor: Int32

    init(wsi: OpaquePointer, server: LWSServer, maxPayload: Int, maxBuffered: Int, memory: OutboundMemory) {
        self.maxPayload = maxPayload
        self.plainDescriptor = lws_is_ssl(wsi) == 0 ? lws_get_socket_fd(wsi) : -1
        self.outbound = OutboundBudget(limit: maxBuffered, memory: memory)
        super.init(wsi: wsi, server: server)
        server.openWebSockets += 1
    }

    // MARK: WebSocketConnection (engine → socket)

    func sendFrame(_ bytes: [UInt8], binary: Bool) {
        enqueue(digit: nil, bytes, binary: binary)
    }

    func sendText(digit: UInt8, payload: [UInt8]) {
        enqueue(digit: digit, payload, binary: false)
    }

    /// A broadcast's frame, built once for every recipient: written as it is when nothing waits before it,
    /// queued as its packet otherwise.
    ///
    /// On plain TCP the bytes go to the kernel with one `send()`, as lws itself would send them (lws_write
    /// adds nothing to a frame that is already whole but its own checks and log calls, about half the
    /// instructions of a recipient). Whatever the kernel does not take is handed to lws with LWS_WRITE_HTTP,
    /// which writes bytes unframed: lws keeps that tail and holds further writes behind it
    /// (lws_partial_buffered), exactly as for the tail of a frame it built, so a frame is never split or
    /// overtaken. Over TLS the whole frame goes through lws_write the same way.
    func sendShared(_ frame: SharedTextFrame) {
        guard closeCode == nil else { return }
        guard head == outgoing.count, mayWriteDirectly, lws_partial_buffered(wsi) == 0 else {
            enqueue(digit: frame.packet.type.digit, frame.packet.payload, binary: false)
            return
        }
        settleHeldBytes()
        let length = frame.countedLength
        _ = outbound.add(length)  // the queue is empty: always accepted
        var start = frame.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var count = frame.bytes.count
        if plainDescriptor >= 0 {
            let sent = send(plainDescriptor, start, count, Int32(MSG_NOSIGNAL))
            if sent == count {
                outbound.drain(length)
                return
            }
            guard sent >= 0 || errno == EAGAIN || errno == EINTR else {
                closeDead()
                return
            }
            start += max(sent, 0)
            count -= max(sent, 0)
        }
        if !wrote(Int(lws_write(wsi, start, count, LWS_WRITE_HTTP)), of: count, counted: length) { closeDead() }
    }

    /// A direct write found the socket dead: lws closes it on its next pass (no callback here to return -1 from).
    private func closeDead() {
        closeCode = 1006
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC)
    }

    private func enqueue(digit: UInt8?, _ bytes: [UInt8], binary: Bool) {
        guard closeCode == nil else { return }
        let length = bytes.count &+ (digit == nil ? 0 : 1)
        let wasIdle = head == outgoing.count
        if wasIdle, mayWriteDirectly, lws_partial_buffered(wsi) == 0 {
            // Nothing waits before this frame: write it now rather than after a trip through poll() and a
            // writable callback. lws keeps whatever the kernel does not take and holds further writes until
            // it has gone (lws_partial_buffered), so order is kept. A reply leaves from its RECEIVE callback,
            // a reminder from the fan-out loop, each touching its connection once.
            settleHeldBytes()
            _ = outbound.add(length)  // the queue is empty: always accepted
            if !writeOut(digit: digit, bytes, binary: binary, length: length) { closeDead() }
            return
        }
        if outbound.passesTotal(adding: length) {
            // All clients together are at --max-buffered-total: the biggest holders go first (this one,
            // if it is among them), before this queue grows.
            outbound.memory?.reclaim(needing: length)
            guard closeCode == nil else { return }
        }
        guard outbound.add(length) else {
            limitReached(queued: outbound.queued &+ length)
            return
        }
        outgoing.append((digit, bytes, binary))
        if wasIdle { lws_callback_on_writable(wsi) }
    }

    /// The client has left more than `--max-buffered` untaken: the engine ends its session (and closes
    /// this socket through ``close(code:)``); a socket the engine already let go of is closed here.
    private func limitReached(queued: Int) {
        if let transport {
            transport.outboundLimitReached(queued: queued)
        } else {
            server.log.warn("outbound limit on a socket without a session: queued=\(queued) bytes; closing")
        }
        close(code: 1008)
    }

    /// Closes at once, whatever is queued: the queue is dropped, and the close frame follows if it can. If
    /// lws still holds part of a frame the client is not taking, no close frame can follow it soon, so the
    /// connection is dropped on lws's next pass; otherwise a socket that never turns writable (a full
    /// kernel buffer, a client that reads nothing) is dropped after a second.
    func close(code: UInt16) {
        guard closeCode == nil else { return }
        closeCode = code
        transport = nil
        dropQueue()
        if lws_partial_buffered(wsi) != 0 {
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC)
        } else {
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, Self.closeFrameGrace)
            lws_callback_on_writable(wsi)
        }
    }

    /// Seconds a closing socket has to take its close frame before lws drops it.
    private static let closeFrameGrace: Int32 = 1

    /// Forgets every queued frame, and the capacity a backlog left behind.
    private func dropQueue() {
        outgoing = []
        head = 0
        heldByLWS = 0
        outbound.dropAll()
    }

    /// lws has passed on the tail it kept of the last write: those bytes have left.
    private func settleHeldBytes() {
        guard heldByLWS > 0 else { return }
        outbound.drain(heldByLWS)
        heldByLWS = 0
    }

    // MARK: lws callbacks (socket → engine)

    /// `LWS_CALLBACK_SERVER_WRITEABLE`: one frame out, or the close once the queue is empty.
    /// Returns -1 to have lws close the connection.
    ///
    /// No loop: each call takes one frame off the queue (or ends with the close), and the next call is
    /// asked for only while frames or the close remain; a call with nothing queued asks for none. (A
    /// WebSocket is never flow-controlled, so lws always serves the call it asked for.)
    func writable() -> Int32 {
        if closeSent { return -1 }
        // lws offers the callback only once it has written out what it kept (checked all the same).
        if heldByLWS > 0, lws_partial_buffered(wsi) == 0 { settleHeldBytes() }
        if head < outgoing.count {
            let frame = outgoing[head]
            outgoing[head].bytes = []
            head += 1
            if head == outgoing.count {
                // A backlog's slots are let go once it has drained; a few are kept for the next frames.
                outgoing.removeAll(keepingCapacity: outgoing.capacity <= Self.keptQueueSlots)
                head = 0
            }
            let length = frame.bytes.count &+ (frame.digit == nil ? 0 : 1)
            if !writeOut(digit: frame.digit, frame.bytes, binary: frame.binary, length: length) { return -1 }
            if head < outgoing.count || closeCode != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        if let closeCode {
            if !closeSent {
                closeSent = true
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(closeCode)), nil, 0)
            }
            return -1
        }
        return 0
    }

    /// Queue slots kept after a backlog drains.
    private static let keptQueueSlots = 16

    /// Hands one frame (already counted in ``outbound``) to lws, framed by lws; false if the socket is dead.
    private func writeOut(digit: UInt8?, _ bytes: [UInt8], binary: Bool, length: Int) -> Bool {
        wrote(server.write(bytes, prefix: digit, to: wsi, mode: binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT), of: length, counted: length)
    }

    /// After lws_write of `expected` bytes (`counted` of them against ``outbound``) returned `written`: false
    /// if the socket is dead (lws takes the whole write or fails). What the kernel took has left; a tail lws
    /// kept still counts until it goes, and a writable callback is asked for to learn when it has.
    @inline(__always)
    private func wrote(_ written: Int, of expected: Int, counted length: Int) -> Bool {
        guard written >= expected else { return false }
        if lws_partial_buffered(wsi) != 0 {
            heldByLWS = length
            lws_callback_on_writable(wsi)
        } else {
            outbound.drain(length)
        }
        return true
    }

    /// Reading paused by ``setReceiving(_:)``.
    private var receivingPaused = false

    /// lws's rx flow control: with reading off lws leaves the socket's POLLIN unwatched (frames it already
    /// read are still delivered), so a client over its budget is held back by TCP instead of being read,
    /// decoded and dropped. Service thread; a socket closing or closed is left alone.
    func setReceiving(_ receiving: Bool) {
        guard receiving == receivingPaused, !hasEnded, closeCode == nil else { return }
        receivingPaused = !receiving
        lws_rx_flow_control(wsi, receiving ? 1 : 0)
    }

    /// `LWS_CALLBACK_RECEIVE`: a fragment of a message.
    func received(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard closeCode == nil else { return 0 }
        let isFinal = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
        if partial.isEmpty, isFinal {
            let binary = lws_frame_is_binary(wsi) != 0
            guard bytes.count <= maxPayload else { return oversize(bytes.count) }
            transport?.receive(frame: bytes, isBinary: binary)
            return 0
        }
        if partial.isEmpty { partialIsBinary = lws_frame_is_binary(wsi) != 0 }
        guard partial.count + bytes.count <= maxPayload else { return oversize(partial.count + bytes.count) }
        partial.append(contentsOf: bytes)
        if isFinal {
            let message = partial
            partial = []
            transport?.receive(frame: message, isBinary: partialIsBinary)
        }
        return 0
    }

    /// `LWS_CALLBACK_WS_PEER_INITIATED_CLOSE`: lws answers a client's close frame by echoing its payload,
    /// after rewriting a reserved status code to 1002. RFC 6455 (5.5.1) allows a close body only empty or
    /// starting with a two-byte status, so a one-byte body, which lws would echo as it is, is answered with
    /// 1002 (protocol error) instead. Returns -1 to have lws close with that status.
    func peerInitiatedClose(payloadLength: Int) -> Int32 {
        guard payloadLength == 1, closeCode == nil else {
            // lws answers with the close frame itself; nothing of ours may follow it (RFC 6455, 5.5.1).
            stopWriting()
            closeSent = true
            return 0
        }
        let who = transport?.session.map { "sid=\($0.id) peer=\($0.peer)" } ?? "peer=(no session)"
        server.log.warn("bad close frame \(who): a one-byte close payload; closing with 1002")
        closeCode = 1002
        closeSent = true
        dropQueue()
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, nil, 0)
        return -1
    }

    private func oversize(_ size: Int) -> Int32 {
        partial = []
        transport?.receivedOversizeFrame(size: size)
        return 0
    }

    /// `LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL`: lws is closing the connection, whether we asked (a return of
    /// -1) or not (a client's invalid UTF-8, bad opcode, reserved bits, a continuation out of place). lws
    /// sends its own close frame and waits up to 5 s for the client's: nothing more is written on the
    /// connection by any path (RFC 6455, 5.5.1: no data after a close), and the engine hears now that
    /// the connection is over rather than at `CLOSED`, seconds later.
    func lwsClosing() {
        stopWriting()
        closeSent = true
        ended()
    }

    /// No frame is written from here on, by a queue, a direct write or a broadcast.
    private func stopWriting() {
        if closeCode == nil { closeCode = 1006 }
        dropQueue()
    }

    /// `LWS_CALLBACK_CLOSED` (or `WSI_DESTROY`): the socket is gone.
    override func ended() {
        guard !hasEnded else { return }
        hasEnded = true
        server.openWebSockets -= 1
        let transport = self.transport
        self.transport = nil
        closeCode = closeCode ?? 1006
        dropQueue()
        partial = []
        transport?.connectionClosed()
    }
}
