"""The behaviours of the suite, written in raw aiohttp."""
