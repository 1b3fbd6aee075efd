"""Alert events: their shape, the event bus, the durable outbox and its dispatchers."""
