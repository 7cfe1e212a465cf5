"""What PBXs report about real calls, in callroute's own words, and what is built from it.

``events.py`` is the vocabulary every live adapter maps to (Asterisk AMI, FreeSWITCH event
socket, provider webhooks): a call started, a leg rang, was answered, ended; a queue was
joined and left; voicemail took the call; the call ended with a cause; an endpoint or a
queue agent changed state. Nothing here does I/O or reads a clock: each event carries the
instant the PBX reported.
"""
