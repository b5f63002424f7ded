import QuenchAMQP
import QuenchRedis
import Testing

@testable import quench

/// The URL's scheme picks the broker of --message-queue.
@Suite struct MessageQueueURLTests {
    @Test func theSchemePicksTheBroker() throws {
        #expect(try MessageQueueURL(parsing: "redis://h/2") == .redis(try RedisURL(parsing: "redis://h/2")))
        #expect(try MessageQueueURL(parsing: "AMQP://u:p@h//") == .amqp(try AMQPURL(parsing: "amqp://u:p@h//")))
        #expect(try MessageQueueURL(parsing: "rediss://h").isTLS)
        #expect(try MessageQueueURL(parsing: "amqps://h").isTLS)
        #expect(try !MessageQueueURL(parsing: "amqp://h").isTLS)
        #expect(try MessageQueueURL(parsing: "amqp://h").broker == "RabbitMQ")
    }

    @Test func anotherSchemeIsRefusedNamingTheOnesTaken() {
        for text in ["http://h", "kafka://h", "nats://h", "h:6379"] {
            do {
                _ = try MessageQueueURL(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains("redis://, rediss://, amqp:// or amqps://"), "\(error)")
            }
        }
    }

    @Test func thePasswordIsSetWhicheverTheBroker() throws {
        var url = try MessageQueueURL(parsing: "amqp://quench@h")
        url.password = "s3cret"
        #expect(url.password == "s3cret" && url.description == "amqp://quench@h:5672/")
        url = try MessageQueueURL(parsing: "redis://h")
        url.password = "s3cret"
        #expect(url.password == "s3cret")
    }
}
