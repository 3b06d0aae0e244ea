"""Behaviour `cpu`'s work, the same in both apps: a pool's worker imports this module alone."""

import hashlib
import multiprocessing
import os

CPU_MAX_ROUNDS = 1_000_000  # about 1.5 s of one core: the pitfall holds the event loop that long
CPU_WORKERS = os.cpu_count() or 1  # a pool's processes, unless CPU_WORKERS says otherwise

# How a pool starts its workers, in both apps: from a small server process that imported nothing
# of the app's, never by fork() of the server itself, whose threads (daphne's, sync_to_async's, a
# pool's own) fork() would copy in whatever state they held (Python 3.14's default on Linux).
# The fork server imports this module once, and each worker forked from it has `digest` at hand.
POOL_CONTEXT = multiprocessing.get_context("forkserver")
POOL_CONTEXT.set_forkserver_preload([__name__])


def digest(rounds: int) -> str:
    """SHA-256 applied `rounds` times, from the empty string, as hex: CPU work that holds the GIL
    throughout (hashlib lets it go only for inputs of 2 KiB and more)."""
    value = b""
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    return value.hex()
