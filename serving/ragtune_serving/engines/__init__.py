"""Generation engines behind one protocol (`base.GenerationEngine`)."""
