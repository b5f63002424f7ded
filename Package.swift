// swift-tools-version:6.0
import PackageDescription

/// Settings every Swift target shares, so the whole package holds to one dialect.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "quench",
    products: [
        .executable(name: "quench", targets: ["quench"]),
        .executable(name: "quench-bench", targets: ["QuenchBench"]),
        // The server the official protocol test suites run against; built, never installed.
        .executable(name: "quench-conformance", targets: ["QuenchConformance"]),
    ],
    dependencies: [
        // The version it is built and tested with (1.8.2); a minor update may change --help or the completions.
        .package(url: "https://github.com/apple/swift-argument-parser", .upToNextMinor(from: "1.8.2")),
    ],
    targets: [
        // The only door to C: libwebsockets' headers plus static-inline wrappers for its macros.
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),
        // quench-bench's door to C: the libc headers the load tool uses, and errno/read/write/close wrappers.
        .systemLibrary(name: "CBenchSystem"),
        // OpenSSL's headers for the rediss:// client, plus static-inline wrappers for its macros.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // rabbitmq-c (Debian's librabbitmq-dev 0.11) for the amqp:// message queue, plus wrappers for its variadic
        // login and its field tables.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        // Engine.IO v4: packets, sessions, heartbeat, transports behind a protocol and a registry (polling and
        // WebSocket register; nothing else names them). Pure: imports no Glibc, starts no thread, writes
        // nowhere (its Logger hands lines to a LogSink).
        .target(name: "EngineIO", swiftSettings: swiftSettings),
        // The process's plumbing on Glibc, below the binding: threads, signals, the standard-error log sink,
        // the real-time clock. EngineIO, SocketIO and QuenchApp reach the system only through it.
        .target(name: "QuenchSystem", dependencies: ["EngineIO", "CCrypt"], swiftSettings: swiftSettings),
        // libcrypt's crypt_r, for the Admin UI's bcrypt password hashes; only QuenchSystem imports it.
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        // Socket.IO v5 on top of Engine.IO: JSON, packets, namespaces, acks.
        .target(name: "SocketIO", dependencies: ["EngineIO"], swiftSettings: swiftSettings),
        // The libwebsockets binding: service thread, HTTP and WebSocket transports, timers, wake-ups.
        .target(name: "QuenchLWS", dependencies: ["CLibWebSockets", "EngineIO", "QuenchSystem"], swiftSettings: swiftSettings),
        // A TLS client session over a connected socket (rediss://): the only target that imports COpenSSL.
        .target(name: "QuenchTLSClient", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        // One message format, any carrier: python-socketio's pub/sub messages, the node-to-node codec, the
        // bounded publish queue, reconnect pacing and counters, and the `MessageQueue` protocol the brokers implement.
        .target(name: "QuenchMessageQueue", dependencies: ["SocketIO", "EngineIO"], swiftSettings: swiftSettings),
        // The Redis message queue (python-socketio's pub/sub wire format) over a small RESP2 client. Knows nothing of lws.
        .target(
            name: "QuenchRedis", dependencies: ["QuenchMessageQueue", "SocketIO", "EngineIO", "QuenchSystem", "QuenchTLSClient"],
            swiftSettings: swiftSettings),
        // The RabbitMQ (AMQP 0-9-1) message queue, wire-compatible with python-socketio's KombuManager and
        // AsyncAioPikaManager, over rabbitmq-c on threads of its own. Knows nothing of lws.
        .target(
            name: "QuenchAMQP", dependencies: ["CRabbitMQ", "QuenchMessageQueue", "SocketIO", "EngineIO", "QuenchSystem"],
            swiftSettings: swiftSettings),
        // The seed's application: sessions, dummy replies, hydration reminders. Knows nothing of lws.
        .target(name: "QuenchApp", dependencies: ["SocketIO", "QuenchSystem"], swiftSettings: swiftSettings),
        // The command line: flags → configuration → server.
        .executableTarget(
            name: "quench",
            dependencies: [
                "QuenchAMQP", "QuenchApp", "QuenchLWS", "QuenchMessageQueue", "QuenchRedis", "QuenchSystem", "SocketIO", "EngineIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // quench-conformance: a bare Engine.IO echo server and the suites' Socket.IO app on one port.
        .executableTarget(
            name: "QuenchConformance",
            dependencies: [
                "QuenchLWS", "QuenchSystem", "SocketIO", "EngineIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The load generator behind `make bench`: many WebSocket clients on one lws client context.
        .executableTarget(
            name: "QuenchBench",
            dependencies: ["CLibWebSockets", "CBenchSystem", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // A third transport registered from outside the engine (InMemoryTransport), in-memory WebSockets and HTTP,
        // and a hand-moved clock, so tests drive sessions without sockets or sleeps.
        .target(name: "EngineIOTesting", dependencies: ["EngineIO"], swiftSettings: swiftSettings),
        .testTarget(name: "EngineIOTests", dependencies: ["EngineIO", "EngineIOTesting", "QuenchSystem"], swiftSettings: swiftSettings),
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "EngineIOTesting", "QuenchSystem"], swiftSettings: swiftSettings),
        .testTarget(name: "QuenchTLSClientTests", dependencies: ["QuenchTLSClient"], swiftSettings: swiftSettings),
        .testTarget(name: "QuenchAMQPTests", dependencies: ["QuenchAMQP"], swiftSettings: swiftSettings),
        .testTarget(name: "QuenchMessageQueueTests", dependencies: ["QuenchMessageQueue", "SocketIO", "EngineIO"], swiftSettings: swiftSettings),
        .testTarget(
            name: "QuenchRedisTests", dependencies: ["QuenchMessageQueue", "QuenchRedis", "QuenchSystem", "SocketIO", "EngineIO"], swiftSettings: swiftSettings),
        .testTarget(name: "QuenchAppTests", dependencies: ["QuenchApp", "QuenchSystem", "EngineIOTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "QuenchLWSTests", dependencies: ["QuenchLWS", "QuenchSystem", "EngineIO"], swiftSettings: swiftSettings),
        // The command line's flags and their ranges, parsed in process (SwiftPM lets tests import an executable target).
        .testTarget(name: "QuenchCLITests", dependencies: ["quench"], swiftSettings: swiftSettings),
    ]
)
