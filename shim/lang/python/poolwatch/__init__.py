"""poolwatch's support for Python: pools written in Python, tracked with no
change to the program, and the census of what is still open when the
program's own code has finished.

Loaded by the sitecustomize beside this package. Everything goes through
poolwatch.h's public, versioned API (the pw_v1_* symbols of the preloaded
libpoolwatch.so, reached with ctypes); see api.py.
"""
