"""Farmers as people: the same farmer registered on two devices found, merged or told apart."""
