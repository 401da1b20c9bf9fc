"""The administrator's back office: definitions, the editor, instances, the calendar."""
