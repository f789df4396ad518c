"""The wire under the backends: the SDK transport (signing, envelopes), error mapping, retries, and waiting."""
