"""Many agents as one fleet: node and allocation records in NATS JetStream key-value buckets."""
