"""Lab material the notebooks use beside the app: never imported by the app modules.

- ``server``: run an app in the background of a Jupyter kernel (``start_server``, ``stop_server``).
- ``display``: ``show_token``, a JWT in three colours.
- ``chart``: ``bar_chart``, grouped bars on a log scale as SVG (notebook 04's timings).
- ``jose``: JOSE primitives by hand (base64url, the HS256 signature) for notebook 04.
- ``attacks``: the attacker's toolkit of notebook 05.
- ``vulnerable``: deliberately vulnerable twins of the app for notebook 05. Never deploy them.
- ``browser_twins``: notebook 08's vulnerable twins (CSRF, XSS), the attacker's site and a second origin.
"""
