"""The deterministic trio call simulator (see README.md, "Simulation")."""
