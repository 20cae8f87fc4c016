"""Messages to customers: providers, templates, the outbox worker and mailings."""
