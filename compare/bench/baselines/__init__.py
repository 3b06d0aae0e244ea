"""Each framework's minimum: the bench's baselines (shared/bench.toml), not parity targets."""
