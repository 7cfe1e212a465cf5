"""Read models built only from the events of the write model."""
