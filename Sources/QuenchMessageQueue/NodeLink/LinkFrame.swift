import EngineIO

/// `--node-link`'s framing: each frame is a 4-byte big-endian length, then that many bytes (a hello, a
/// welcome, or one node message in ``NodeMessageCodec``'s compact form, opaque here).
package enum LinkFrame {
    /// The largest frame: the same bound as a node message through Redis (the RESP reader's bulk bound).
    package static let maxLength = 16 * 1024 * 1024

    package static func frame(_ payload: [UInt8]) -> [UInt8] {
        let count = UInt32(payload.count)
        var bytes: [UInt8] = [UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        bytes.reserveCapacity(4 + payload.count)
        bytes.append(contentsOf: payload)
        return bytes
    }

    /// Cuts a byte stream into frames, whatever pieces the reads return.
    package struct Reader {
        private var buffer: [UInt8] = []
        private var start = 0
        /// The longest frame taken; a longer one ends the stream (``next()`` throws).
        package var maxLength: Int

        package init(maxLength: Int = LinkFrame.maxLength) { self.maxLength = maxLength }

        package mutating func append(_ bytes: [UInt8]) {
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next whole frame, nil until one is complete. Throws when a frame announces more than
        /// ``maxLength`` (the stream is unusable after).
        package mutating func next() throws(LinkFrameError) -> [UInt8]? {
            guard buffer.count - start >= 4 else { return nil }
            let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
            guard length <= maxLength else { throw LinkFrameError(length: length, bound: maxLength) }
            guard buffer.count - start - 4 >= length else { return nil }
            let frame = Array(buffer[(start + 4)..<(start + 4 + length)])
            start += 4 + length
            return frame
        }
    }
}

/// A frame longer than ``LinkFrame/maxLength``.
package struct LinkFrameError: Error, Equatable, CustomStringConvertible {
    package let length: Int
    package let bound: Int
    package var description: String { "a frame of \(length) bytes, past the bound of \(bound)" }
}

/// The first frame each way: the connecting node's hello names its tag and the listener's token; the
/// listener's welcome names its own tag (the connector then knows it reached the node it meant to).
package enum LinkHello {
    static let helloPrefix = Array("quench-link/1 hello ".utf8)
    static let welcomePrefix = Array("quench-link/1 welcome ".utf8)

    package static func hello(tag: String, token: String) -> [UInt8] { helloPrefix + Array("\(tag) \(token)".utf8) }

    /// The tag and token a hello names; nil when it is not one.
    package static func parseHello(_ payload: [UInt8]) -> (tag: String, token: [UInt8])? {
        guard payload.count == helloPrefix.count + SessionID.nodeTagLength + 1 + LinkAnnouncement.tokenHexLength,
            payload.starts(with: helloPrefix)
        else { return nil }
        let rest = payload[helloPrefix.count...]
        let tag = String(decoding: rest.prefix(SessionID.nodeTagLength), as: UTF8.self)
        let token = Array(rest.suffix(LinkAnnouncement.tokenHexLength))
        guard rest[rest.startIndex + SessionID.nodeTagLength] == UInt8(ascii: " "), SessionID.isNodeTag(tag) else { return nil }
        return (tag, token)
    }

    package static func welcome(tag: String) -> [UInt8] { welcomePrefix + Array(tag.utf8) }

    /// The tag a welcome names; nil when it is not one.
    package static func parseWelcome(_ payload: [UInt8]) -> String? {
        guard payload.count == welcomePrefix.count + SessionID.nodeTagLength, payload.starts(with: welcomePrefix) else { return nil }
        let tag = String(decoding: payload[welcomePrefix.count...], as: UTF8.self)
        return SessionID.isNodeTag(tag) ? tag : nil
    }

    /// Equal bytes, in a time that does not depend on where they differ.
    package static func sameToken(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        guard given.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<given.count { difference |= given[index] ^ expected[index] }
        return difference == 0
    }
}
