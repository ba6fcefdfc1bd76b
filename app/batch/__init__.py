"""Batch jobs on Ray."""
