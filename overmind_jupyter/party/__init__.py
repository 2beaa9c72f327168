"""The party: a room one Jupyter server hosts (members, invites, the prompt queue, hub
members) and the parties it joins (``link``); the wire of its websocket (``wire``) and
what each member may see (``view``). Its REST and websocket edges live in ``server/``."""
