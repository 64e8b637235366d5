"""Encryption at rest, password hashing and policy, two-factor authentication."""
