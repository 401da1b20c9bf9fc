"""Accounts: sign-up, activation, sign-in, sessions, recovery, security settings, staff."""
