"""Templates and static files the API serves (member pages now; the dashboard in Step 8)."""
