"""The terminal sync protocol: message schemas, the server-side engine and a reference client.

Built in the sync issue; `server/` will wire it to HTTP. It must not import Flask.
"""
