#!/usr/bin/env python
"""Django's manage.py; `gridlink` (installed by pip) is the same with short aliases."""

from gridlink.cli import main

if __name__ == "__main__":
    main()
