"""The staff inbox: queries, claims, bulk confirmation, comments, the dashboard."""
