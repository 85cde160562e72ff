"""Reference geography of France: communes, EPCI, départements, régions (see docs/architecture.md)."""
