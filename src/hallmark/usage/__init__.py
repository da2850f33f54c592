"""The usage register: per model, who generated what and when, and who licensed it for what.

It reads the tables of generations, licensing, accounts and the gallery; it has none of its own.
"""
