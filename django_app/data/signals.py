"""The signal of an item's update or delete; post_save and post_delete are Django's own."""

from django.dispatch import Signal

# Sent by ItemView after an update or a delete, with `item` and `event` ("updated", "deleted"),
# once the write is done: part 2's cache and part 6's receivers listen, part 2 knows neither.
item_changed = Signal()
