"""Authoring tools of the series: run by the make targets, never installed with ``tutorial_src``.

- ``nbtools``: re-execute and clean the notebooks, write navigation (``make notebooks``, ``make nav``).
- ``lesson``: the lesson skeleton, read back and checked; the timings tables.
- ``student``: build the student edition (``make student``).
"""
