"""Accounts: users, their passwords and their API tokens."""
