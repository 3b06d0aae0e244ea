"""Each framework's minimum: the bench's baselines (compare/bench/bench.toml), not targets."""
