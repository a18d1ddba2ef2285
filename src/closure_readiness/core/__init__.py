"""The domain core: review model, vocabulary, canonical hashing. Pure Python, no I/O."""
