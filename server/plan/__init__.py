"""Targets and progress against them: targets set or loaded, the monthly profile, progress, breakdowns and the report."""
