"""The edge: command line, persistence settings, logging, and later the PBX adapters."""
