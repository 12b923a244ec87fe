"""Reference code of the notebook series on JWT authentication with aiohttp, PyJWT and requests.

Each notebook shows a piece of this package and later imports it; ``tests/test_drift.py`` fails when a
function a notebook defines differs from the function of the same name here.
"""

__version__ = "0.1.0"
