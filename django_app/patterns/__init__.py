"""Part 6, patterns: pages, transactions, signals, caches, CPU-bound work, bounded concurrency."""
