"""The gateway: the way in for booking systems that speak HTTP rather than Kafka. A booking system posts the
contract's inbound events with its chain's key; the gateway makes each durable, once, and publishes it to
its topic, where the four services take it as if the booking system had produced it."""
