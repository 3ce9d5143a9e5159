"""Listening to members: surveys, polls, NPS and satisfaction, exit surveys."""
