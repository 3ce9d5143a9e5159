"""The journey engine (Step 7): playbooks as YAML, enrolments, steps, outbox, guard rails, holdouts."""
