import Testing

@testable import QuenchAMQP

/// `amqp://` URLs read as Kombu reads them, so a KombuManager's URL works unchanged.
@Suite struct AMQPURLTests {
    @Test func kombusDefaultURLIsTheRootVirtualHost() throws {
        let url = try AMQPURL(parsing: "amqp://guest:guest@localhost:5672//")
        #expect(url.host == "localhost" && url.port == 5672 && url.username == "guest" && url.password == "guest" && url.virtualHost == "/")
    }

    @Test func defaultsAreGuestPort5672AndTheRootVirtualHost() throws {
        for text in ["amqp://rabbit", "amqp://rabbit/"] {
            let url = try AMQPURL(parsing: text)
            #expect(url.host == "rabbit" && url.port == 5672 && url.username == "guest" && url.password == nil && url.virtualHost == "/")
        }
    }

    @Test func virtualHostAndCredentialsArePercentDecoded() throws {
        let url = try AMQPURL(parsing: "amqp://us%40er:p%3Ass@[::1]:5673/team%2Fa")
        #expect(url.host == "::1" && url.port == 5673 && url.username == "us@er" && url.password == "p:ss" && url.virtualHost == "team/a")
        #expect(url.description == "amqp://us@er@[::1]:5673/team/a")
    }

    @Test func amqpsIsTLSOnPort5671CheckingTheHostUnlessToldOtherwise() throws {
        var url = try AMQPURL(parsing: "amqps://rabbit.internal")
        #expect(url.port == 5671 && url.tls == AMQPURL.TLS(caFile: nil, serverName: "rabbit.internal"))
        #expect(url.description == "amqps://guest@rabbit.internal:5671/")
        url.verifyTLS(caFile: "/etc/quench/ca.pem", serverName: "10.0.0.9")
        #expect(url.tls == AMQPURL.TLS(caFile: "/etc/quench/ca.pem", serverName: "10.0.0.9"))
        var plain = try AMQPURL(parsing: "amqp://rabbit")
        plain.verifyTLS(caFile: "/etc/quench/ca.pem", serverName: nil)
        #expect(plain.tls == nil)
    }

    @Test func refusesWhatItCannotUse() {
        for text in ["redis://x", "amqp://", "amqp://h:0", "amqp://h:x", "amqp://h/%zz", "amqp://h/a?heartbeat=5", "amqp://h/%00", "amqpx://h"] {
            #expect(throws: AMQPURLError.self) { try AMQPURL(parsing: text) }
        }
    }
}
