"""Use cases: typed functions with an explicit actor; one public call is one transaction."""
