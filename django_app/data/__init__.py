"""Part 2, data: class-based views on the async ORM, sync_to_async, counters, files, errors."""
