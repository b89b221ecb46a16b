"""The Textual face of tsbrunbook. It computes nothing and stores nothing itself: it calls the
impact engine and records every action as an incident event first."""
