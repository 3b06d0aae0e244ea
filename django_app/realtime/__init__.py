"""Part 4, realtime: chat rooms with group broadcast, in one process or across processes."""
