import CBenchSystem

/// One keep-alive HTTP/1.1 connection of a polling client, carrying one request at a time, as a browser's
/// connection does: write the request, read its response, and the socket is ready for the next one.
///
/// The socket is opened on the first request and again after the server closed an idle one (lws closes
/// keep-alive connections idle for 5 s, which an idle client's POST connection often is). A request that
/// meets a closed socket the server reused is sent once more on a fresh one, as browsers do; any other
/// trouble is a failure for the owning `PollingConnection`. Used only on `PollingClient`'s thread.
final class HTTPChannel {
    /// What handling a poll event produced.
    enum Event {
        case nothing
        /// The whole response to the outstanding request. `body` points into the client's read buffer and is
        /// valid until the next read, so it must be used before returning to the poll loop.
        case response(status: Int, body: UnsafeRawBufferPointer)
        case failure(String)
    }

    private let address: SocketAddress
    private unowned let pollSet: PollSet
    /// This channel's slot in `pollSet`.
    private let slot: Int
    private var fd: Int32 = -1
    private var connecting = false
    private var watchingWrites = false
    /// The outstanding request (kept whole until its response arrives, so it can be sent again) and how
    /// much of it is written.
    private var outbox: [UInt8] = []
    private var written = 0
    /// Requests started on the current socket: a close on the first one is never retried.
    private var requestsOnSocket = 0
    private var retried = false
    /// The start of a response that has not fully arrived yet.
    private var partial: [UInt8] = []
    /// A request was sent and its response has not been read yet.
    private(set) var isBusy = false

    init(address: SocketAddress, pollSet: PollSet, slot: Int) {
        self.address = address
        self.pollSet = pollSet
        self.slot = slot
    }

    /// Sends the request `build` writes into the (emptied) outbox; at once if the socket is open.
    /// - Returns: a failure text, or nil when the request is on its way.
    func send(_ build: (inout [UInt8]) -> Void) -> String? {
        outbox.removeAll(keepingCapacity: true)
        build(&outbox)
        written = 0
        retried = false
        isBusy = true
        guard fd >= 0 else { return open() }
        requestsOnSocket += 1
        return connecting ? nil : flush()
    }

    /// Reacts to `revents` from poll(): finishes a connect, writes what is left, reads a response.
    /// - Parameter buffer: the client's read buffer, shared by every channel.
    func handle(revents: Int16, buffer: UnsafeMutableRawBufferPointer) -> Event {
        if connecting {
            guard revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 else { return .nothing }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { return fail("connect: \(errorText(error))") }
            connecting = false
            return flush().map(Event.failure) ?? .nothing
        }
        if revents & Int16(POLLOUT) != 0, written < outbox.count, let failure = flush() { return .failure(failure) }
        guard revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 else { return .nothing }
        return read(into: buffer)
    }

    /// Closes the socket; the channel can send again later on a new one.
    func close() {
        closeSocket()
        isBusy = false
        partial.removeAll()
    }

    // MARK: Socket

    private func open() -> String? {
        switch address.connectNonBlocking() {
        case .failure(let error):
            isBusy = false
            return error.description
        case .success(let socket):
            fd = socket
            connecting = true
            requestsOnSocket = 1
            watchingWrites = true
            pollSet.watch(slot, fd: fd, writable: true)
            return nil
        }
    }

    private func closeSocket() {
        guard fd >= 0 else { return }
        pollSet.clear(slot)
        cbench_close(fd)
        fd = -1
        connecting = false
        watchingWrites = false
    }

    /// Writes what is left of the outbox; waits for POLLOUT if the socket is full.
    private func flush() -> String? {
        while written < outbox.count {
            let count = outbox.withUnsafeBytes { bytes in
                cbench_write(fd, bytes.baseAddress! + written, bytes.count - written)
            }
            if count > 0 {
                written += count
            } else if count < 0, cbench_errno() == EINTR {
                continue
            } else if count < 0, cbench_errno() == EAGAIN {
                if !watchingWrites {
                    watchingWrites = true
                    pollSet.watch(slot, fd: fd, writable: true)
                }
                return nil
            } else {
                return resendOrFail(count < 0 ? "write: \(errorText(cbench_errno()))" : "write: nothing written")
            }
        }
        if watchingWrites {
            watchingWrites = false
            pollSet.watch(slot, fd: fd, writable: false)
        }
        return nil
    }

    /// Reads once (poll is level-triggered: more data brings another event) and parses what has arrived.
    private func read(into buffer: UnsafeMutableRawBufferPointer) -> Event {
        // A partial response is moved to the front of the shared buffer, so a whole one always lies there.
        let carried = partial.count
        if carried > 0 { partial.withUnsafeBytes { buffer.copyMemory(from: $0) } }
        let count = cbench_read(fd, buffer.baseAddress! + carried, buffer.count - carried)
        if count < 0, cbench_errno() == EAGAIN || cbench_errno() == EINTR { return .nothing }
        if count <= 0 {
            let reason = count == 0 ? "closed by server" : "read: \(errorText(cbench_errno()))"
            guard isBusy else {
                closeSocket()  // the server ended an idle keep-alive connection: reopen when needed
                return .nothing
            }
            return resendOrFail(reason).map(Event.failure) ?? .nothing
        }
        guard isBusy else { return fail("\(count) bytes from the server with no request outstanding") }
        let filled = carried + count
        let received = UnsafeRawBufferPointer(rebasing: buffer[0..<filled])
        switch HTTPResponseParser.parse(received) {
        case .incomplete:
            if filled == buffer.count { return fail("response larger than \(buffer.count) bytes") }
            partial.removeAll(keepingCapacity: true)
            partial.append(contentsOf: received)
            return .nothing
        case .invalid(let text):
            return fail(text)
        case .complete(let status, let body, let length, let closesConnection):
            if length != filled { return fail("\(filled - length) bytes after the response, with no request outstanding") }
            partial.removeAll(keepingCapacity: true)
            isBusy = false
            if closesConnection { closeSocket() }
            return .response(status: status, body: UnsafeRawBufferPointer(rebasing: received[body]))
        case .completeChunked(let status, let chunks, let length, let closesConnection):
            if length != filled { return fail("\(filled - length) bytes after the response, with no request outstanding") }
            partial.removeAll(keepingCapacity: true)
            isBusy = false
            if closesConnection { closeSocket() }
            // Join the chunks in place: each moves down to follow the one before it.
            var end = chunks.first?.lowerBound ?? 0
            for chunk in chunks {
                if chunk.lowerBound != end {
                    (buffer.baseAddress! + end).copyMemory(from: buffer.baseAddress! + chunk.lowerBound, byteCount: chunk.count)
                }
                end += chunk.count
            }
            let start = chunks.first?.lowerBound ?? 0
            return .response(status: status, body: UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
        }
    }

    /// The server closed a reused socket before answering: send the request again on a new socket, once.
    /// A keep-alive close can cross our request on the wire; the server has not seen it, so resending is safe.
    private func resendOrFail(_ reason: String) -> String? {
        guard isBusy, requestsOnSocket > 1, !retried, partial.isEmpty else {
            close()
            return reason
        }
        closeSocket()
        written = 0
        let failure = open()
        retried = true
        return failure
    }

    private func fail(_ reason: String) -> Event {
        close()
        return .failure(reason)
    }
}
