"""Compiled hot paths (Cython). Each module here has a pure-Python twin; see ``outrider._impl``."""
