"""Management commands of part 3: the processes that run beside the server."""
