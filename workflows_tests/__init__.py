"""Engine-level scenario tests of the BPMN processes (no database, no web)."""
