"""The notifications service: turns domain events into SMS and chatbot notices on Kafka."""
