"""What both apps import at run time: errors, validation, data rules, concurrency, Redis."""
