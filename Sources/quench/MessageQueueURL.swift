import QuenchAMQP
import QuenchRedis

/// The broker of `--message-queue`, picked by the URL's scheme: `redis://` / `rediss://` (python-socketio's
/// `RedisManager`) or `amqp://` (RabbitMQ: `KombuManager`, `AsyncAioPikaManager`). A further broker is one
/// more case here and one more target implementing ``QuenchMessageQueue/MessageQueue``.
enum MessageQueueURL: Equatable, CustomStringConvertible {
    case redis(RedisURL)
    case amqp(AMQPURL)

    /// The schemes each carrier takes, for messages.
    static let schemes = "redis://, rediss://, amqp:// or amqps://"

    init(parsing text: String) throws(MessageQueueURLError) {
        let scheme = text.firstRange(of: "://").map { text[..<$0.lowerBound].lowercased() } ?? ""
        if scheme == "amqp" || scheme == "amqps" {
            do {
                self = .amqp(try AMQPURL(parsing: text))
            } catch {
                throw MessageQueueURLError(description: error.description)
            }
        } else if scheme == "redis" || scheme == "rediss" {
            do {
                self = .redis(try RedisURL(parsing: text))
            } catch {
                throw MessageQueueURLError(description: "\(error)")
            }
        } else {
            throw MessageQueueURLError(description: "expected a \(Self.schemes) URL")
        }
    }

    /// The password, wherever it came from.
    var password: String? {
        get {
            switch self {
            case .redis(let url): url.password
            case .amqp(let url): url.password
            }
        }
        set {
            switch self {
            case .redis(var url):
                url.password = newValue
                self = .redis(url)
            case .amqp(var url):
                url.password = newValue
                self = .amqp(url)
            }
        }
    }

    /// Whether the connection is TLS (the --message-queue-ca and --message-queue-tls-host flags apply).
    var isTLS: Bool {
        switch self {
        case .redis(let url): url.tls != nil
        case .amqp(let url): url.tls != nil
        }
    }

    /// The broker's name, for messages.
    var broker: String {
        switch self {
        case .redis: "Redis"
        case .amqp: "RabbitMQ"
        }
    }

    var description: String {
        switch self {
        case .redis(let url): url.description
        case .amqp(let url): url.description
        }
    }
}

/// Why `--message-queue` was refused.
struct MessageQueueURLError: Error, CustomStringConvertible {
    let description: String
}
