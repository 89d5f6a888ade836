"""The state of the work: work items, claims and presence."""
