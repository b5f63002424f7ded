import EngineIO
import SocketIO
import Testing

@testable import QuenchMessageQueue

/// Golden messages: what python-socketio 5.x's `PubSubManager` publishes (json.dumps, so ", " and ": ").
@Suite struct PubSubMessageTests {
    private func decode(_ text: String) throws -> PubSubMessage.Decoded { try PubSubMessage.decode(Array(text.utf8)) }
    private func encode(_ operation: ClusterOperation) -> String {
        String(decoding: PubSubMessage.encode(operation, hostID: "me"), as: UTF8.self)
    }

    @Test func decodesPythonEmits() throws {
        let everyone = try decode(
            #"{"method": "emit", "event": "bot_message", "data": [{"text": "hi \u00e9"}], "binary": false, "namespace": "/", "#
                + #""room": null, "skip_sid": null, "callback": null, "host_id": "abc"}"#)
        #expect(everyone.hostID == "abc")
        #expect(everyone.operation == .emit(ClusterEmit(event: "bot_message", arguments: [["text": "hi é"]])))
        let toSid = try decode(
            #"{"method": "emit", "event": "e", "data": [1, "two"], "binary": false, "namespace": "/chat", "room": "sid1", "#
                + #""skip_sid": ["a", "b"], "callback": ["sid1", "/chat", 4], "host_id": "abc"}"#)
        #expect(
            toSid.operation
                == .emit(
                    ClusterEmit(
                        event: "e", arguments: [1, "two"], namespace: "/chat", rooms: ["sid1"], skip: ["a", "b"],
                        callback: RemoteCallback(host: "abc", room: "sid1", namespace: "/chat", id: 4))))
        let rooms = try decode(#"{"method":"emit","event":"e","data":[null],"room":["r1","r2"],"skip_sid":"x","host_id":"h"}"#)
        #expect(rooms.operation == .emit(ClusterEmit(event: "e", arguments: [], rooms: ["r1", "r2"], skip: ["x"])))
    }

    @Test func argumentsFollowPythonsUnwrapping() throws {
        #expect(try PubSubMessage.emitArguments([[1, 2]], binary: false) == [[1, 2]])
        #expect(try PubSubMessage.emitArguments([1, 2], binary: false) == [1, 2])
        #expect(try PubSubMessage.emitArguments([], binary: false) == [])
        #expect(try PubSubMessage.emitArguments([nil], binary: false) == [])
        #expect(try PubSubMessage.emitArguments("bare", binary: false) == ["bare"])
    }

    @Test func binaryAttachmentsTravelAsBase64() throws {
        let message = try decode(
            #"{"method": "emit", "event": "b", "data": [[{"blob": {"_placeholder": true, "num": 0}}, 5], "AP8Q"], "binary": true, "#
                + #""namespace": "/", "room": null, "skip_sid": null, "callback": null, "host_id": "h"}"#)
        #expect(message.operation == .emit(ClusterEmit(event: "b", arguments: [["blob": .binary([0, 255, 16])], 5])))
        let encoded = encode(.emit(ClusterEmit(event: "b", arguments: [["blob": .binary([0, 255, 16])], 5])))
        #expect(
            encoded
                == #"{"method":"emit","event":"b","data":[[{"blob":{"_placeholder":true,"num":0}},5],"AP8Q"],"binary":true,"#
                + #""namespace":"/","room":null,"skip_sid":null,"callback":null,"host_id":"me"}"#)
    }

    @Test func encodesEveryMethodWithPythonsFields() {
        #expect(
            encode(.emit(ClusterEmit(event: "e", arguments: ["x"], namespace: "/n", rooms: ["r"], skip: ["s"])))
                == #"{"method":"emit","event":"e","data":["x"],"binary":false,"namespace":"/n","room":"r","skip_sid":"s","callback":null,"host_id":"me"}"#)
        #expect(
            encode(.emit(ClusterEmit(event: "e", rooms: ["r1", "r2"], skip: ["a", "b"])))
                == #"{"method":"emit","event":"e","data":[],"binary":false,"namespace":"/","room":["r1","r2"],"skip_sid":["a","b"],"callback":null,"host_id":"me"}"#)
        #expect(encode(.disconnect(sid: "s", namespace: "/")) == #"{"method":"disconnect","sid":"s","namespace":"/","host_id":"me"}"#)
        #expect(
            encode(.enterRoom(sid: "s", namespace: "/", room: "r"))
                == #"{"method":"enter_room","sid":"s","room":"r","namespace":"/","host_id":"me"}"#)
        #expect(
            encode(.leaveRoom(sid: "s", namespace: "/", room: "r"))
                == #"{"method":"leave_room","sid":"s","room":"r","namespace":"/","host_id":"me"}"#)
        #expect(encode(.closeRoom(room: "r", namespace: "/")) == #"{"method":"close_room","room":"r","namespace":"/","host_id":"me"}"#)
        #expect(
            encode(.callback(host: "them", sid: "s", namespace: "/", id: 3, arguments: ["pong", 7]))
                == #"{"method":"callback","host_id":"them","sid":"s","namespace":"/","id":3,"args":["pong",7]}"#)
    }

    /// The quench messages name a session by its handle, the pid a client would present appears in none.
    @Test func quenchMessagesCarryTheHandleNeverThePid() {
        let pid = "Ab3dE5gH7jK9mN1pQ3sT"
        let handle = RecoveryHandle(pid: pid)
        #expect(handle.text == "f97ef0d3ef1b51f1529b9358282902a6")
        let texts = [
            encode(.recovered(handle: handle, namespace: "/")),
            encode(.handover(host: "me", namespace: "/", sessions: [HandedOverSession(handle: handle, sid: "s", rooms: ["r"])])),
            encode(.taking(handle: handle, namespace: "/", taker: "me", recorder: "a")),
            encode(.flushed(handle: handle, namespace: "/", host: "me", taker: "t")),
        ]
        #expect(texts[0] == #"{"method":"quench_recovered","handle":"f97ef0d3ef1b51f1529b9358282902a6","namespace":"/","host_id":"me"}"#)
        #expect(texts[1].contains(#""sessions":[["f97ef0d3ef1b51f1529b9358282902a6","s",["r"]]]"#))
        for text in texts { #expect(text.contains(handle.text) && !text.contains(pid) && !text.contains("\"pid\"")) }
    }

    @Test func everyEncodedMessageDecodesBack() throws {
        let operations: [ClusterOperation] = [
            .emit(ClusterEmit(event: "e", arguments: [["k": .binary([1, 2])], "x"], namespace: "/n", rooms: ["a", "b"], skip: ["c"])),
            .disconnect(sid: "s", namespace: "/n"), .enterRoom(sid: "s", namespace: "/", room: "r"),
            .leaveRoom(sid: "s", namespace: "/", room: "r"), .closeRoom(room: "r", namespace: "/"),
            .callback(host: "me", sid: "s", namespace: "/", id: 1, arguments: []),
            .recovered(handle: RecoveryHandle(pid: "p"), namespace: "/n"),
            .handover(host: "me", namespace: "/", sessions: [HandedOverSession(handle: RecoveryHandle(pid: "p"), sid: "s", rooms: ["a", "b"]), HandedOverSession(handle: RecoveryHandle(pid: "q"), sid: "t", rooms: [])]),
            .taking(handle: RecoveryHandle(pid: "p"), namespace: "/n", taker: "me", recorder: "a@b"), .flushed(handle: RecoveryHandle(pid: "p"), namespace: "/", host: "me", taker: "t"),
            .application(namespace: "/admin", name: "admin_action", arguments: ["join", ["/", "r", .null]]),
        ]
        for operation in operations {
            let decoded = try PubSubMessage.decode(PubSubMessage.encode(operation, hostID: "me"))
            #expect(decoded.operation == operation)
            #expect(decoded.hostID == "me")
        }
    }

    @Test(arguments: [
        "nope", "[]", #"{"event":"e"}"#, #"{"method":"warp"}"#, #"{"method":"emit","data":[]}"#,
        #"{"method":"emit","event":"e","room":3}"#, #"{"method":"emit","event":"e","skip_sid":[1]}"#,
        #"{"method":"emit","event":"e","binary":true,"data":[[{"_placeholder":true,"num":1}],"AA=="]}"#,
        #"{"method":"emit","event":"e","binary":true,"data":[[],"!!"]}"#, #"{"method":"disconnect","namespace":"/"}"#,
        #"{"method":"close_room","room":null}"#, #"{"method":"callback","sid":"s","id":1}"#,
        #"{"method":"quench_recovered","namespace":"/"}"#, #"{"method":"quench_handover","namespace":"/","sessions":[]}"#,
        #"{"method":"quench_handover","host_id":"h","sessions":[["p","s"]]}"#, #"{"method":"quench_handover","host_id":"h","sessions":[["p","s",[1]]]}"#,
        #"{"method":"quench_taking","pid":"p","recorder":"r"}"#, #"{"method":"quench_taking","host_id":"h","pid":"p","recorder":1}"#,
        #"{"method":"quench_flushed","host_id":"h","pid":"p"}"#, #"{"method":"quench_flushed","pid":"p","taker":"t"}"#,
        // A session is named by its handle (32 lowercase hex digits), never by a pid.
        #"{"method":"quench_recovered","pid":"Ab3dE5gH7jK9mN1pQ3sT","namespace":"/","host_id":"h"}"#,
        #"{"method":"quench_recovered","handle":"Ab3dE5gH7jK9mN1pQ3sT","namespace":"/","host_id":"h"}"#,
        #"{"method":"quench_flushed","host_id":"h","handle":"0123456789ABCDEF0123456789ABCDEF","taker":"t"}"#,
        #"{"method":"quench_taking","host_id":"h","handle":"0123456789abcdef0123456789abcdef0","recorder":"r"}"#,
        #"{"method":"quench_handover","host_id":"h","sessions":[["Ab3dE5gH7jK9mN1pQ3sT","s",[]]]}"#,
        #"{"method":"quench_app","namespace":"/admin","args":[]}"#, #"{"method":"quench_app","name":"n","args":{}}"#,
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: PubSubMessageError.self) { try PubSubMessage.decode(Array(text.utf8)) }
    }
}
