"""The `gridlink` console command: Django's management commands plus short aliases.

gridlink seed --scale small --seed 1      → seed_demo
gridlink import residents file.xlsx       → import_registry
gridlink export residents out.csv         → export_registry
gridlink audit verify                     → audit verify
gridlink serve                            → web server + background worker
gridlink worker                           → background worker only
"""

from __future__ import annotations

import os
import sys

ALIASES = {
    "seed": "seed_demo",
    "import": "import_registry",
    "export": "export_registry",
    "worker": "run_worker",
    "token": "create_api_token",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridlink.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "gridlink"
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
