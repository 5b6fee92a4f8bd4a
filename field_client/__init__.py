"""The Tianjian field client: an offline-first replica on an envoy's phone or laptop."""
