"""Styles: style models, their training sets, and publishing."""
