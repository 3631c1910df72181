"""Importers: definitions written for other tools, converted to this library's format."""
