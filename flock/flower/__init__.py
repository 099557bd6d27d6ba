"""A multi-process alliance on Flower: the chain is the authority, the coordinator a relay."""
