"""Reference geography of France: communes, EPCI, départements, régions.

See docs/architecture.md for the contract of :class:`geodata.reference.Reference`.
"""
