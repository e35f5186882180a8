"""Renderings of a grade report: terminal table, versioned JSON, JUnit XML."""
