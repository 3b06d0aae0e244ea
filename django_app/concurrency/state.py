"""What the part keeps per process, in module globals; aiohttp_app keeps it under AppKeys."""

from shared.concurrency import EventLog, StreamRecords

# Django has no application object to hang state on, nor a shutdown hook to close the event log
# with: at shutdown the ASGI server cancels the open streams and polls itself.
events = EventLog()
streams = StreamRecords()
