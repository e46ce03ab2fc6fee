"""Pure decisions: given desired and observed state, what to do and why. No I/O."""
