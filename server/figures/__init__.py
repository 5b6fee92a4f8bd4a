"""The year's figures: what counts (counted.py), how it is tallied and broken down, and the records behind each figure."""
