"""Reads on access requests: lists, the queue, review panels, consent counts, agreements."""
