"""Learning: datasets and partitions, the alliance's data draw, models, training and evaluation.
Knows nothing of chains, stores or roles."""
