"""The local stack for `make dev` and the end-to-end tests: a Kafka-protocol broker, the
database's roles and schemas, and the four services as separate processes."""
