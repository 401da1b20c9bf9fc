"""The step: starting and completing tasks, context, assignment, policies, clocks, rules."""
