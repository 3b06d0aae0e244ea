"""Part 5, accounts: sign-up, log-in and sessions, CSRF, and authenticated websockets."""
