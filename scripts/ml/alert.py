#!/usr/bin/env python3
"""Post one failure alert to Discord (DISCORD_WEBHOOK_URL); for CI steps outside the CLIs."""

from __future__ import annotations

import argparse

from src.cli.exits import notify, run_main
from src.config import load_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("title")
    parser.add_argument("lines", nargs="*")
    args = parser.parse_args()
    notify(load_settings().alerts, args.title, args.lines, "failure")
    return 0


if __name__ == "__main__":
    run_main(main)
