# cython: language_level=3
"""The status codes of the compiled core (declared in _status.pxd), as the
IntEnum ``Status``: linalgad/_errors.py maps each to its exception."""
