"""Applications: what may be applied for, the forms, their files, the service operations."""
