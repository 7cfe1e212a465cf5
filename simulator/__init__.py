"""The deterministic trio call simulator (see DESIGN.md, "Simulation")."""
