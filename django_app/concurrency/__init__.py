"""Part 3, concurrency: fan-out, streams, SSE, long polls, middleware, pitfalls, background work."""
