"""Regenerate the README's gallery: ``python reports/make_gallery.py`` (from the checkout)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from gradflow.report.gallery import make_gallery  # noqa: E402

if __name__ == "__main__":
    for path in make_gallery(os.path.dirname(os.path.abspath(__file__))):
        print(path)
