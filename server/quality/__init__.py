"""Figures questioned: reconciliation, flags on records that look wrong, staff reviews, and each envoy's ledger."""
