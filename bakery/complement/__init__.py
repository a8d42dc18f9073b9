"""Complement: the tester and testee run, its containers, and results judged against a baseline."""
