"""Operator accounts, sessions, API tokens and what each role may do."""
