"""Part 1, the basics: routing, JSON, awaiting, websockets and routing errors."""
