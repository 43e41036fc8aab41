"""Reports: PDF pages and a PNG dashboard drawn from computed analyses.

Data flows one way: :func:`data.collect` runs the analyses, :mod:`pages` and :mod:`plots` draw
them, :func:`build.write_report` writes the file atomically.
"""
