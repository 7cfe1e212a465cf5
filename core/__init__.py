"""callroute core: the write model (aggregates), read models (projections) and pure routing.

Nothing here reads the wall clock, draws a random number, or imports the simulator or
the adapters; the event store, the clock and the PIN hasher are handed in.
"""
