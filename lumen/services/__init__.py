"""The service layer: accounts, sessions, rate limits, conversations and their safeguards."""
