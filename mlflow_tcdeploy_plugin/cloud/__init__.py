"""The cloud side of the client: one method per API action, error mapping, retries, waiting."""
