"""The protocol's rules in Python, as the contract applies them: data types and enums, the
commitment formulas, the role draw, consensus arithmetic and the settlement mirror (plus the
FLock paper's rule, for comparison). Pure functions of their inputs: no chain, no store, no
tensors. `flock.contracts` speaks them to the chain; everything else reads them from here."""
