"""Platform: audit, outbox, database set-up, scheduler, seed data."""
