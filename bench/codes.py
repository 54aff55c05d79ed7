"""Code validation throughput in one process: citizen ID numbers and USCCs, as pasted (mixed valid/invalid).

    .venv/bin/python bench/codes.py [--codes 200000] [--runs 5]

Prints JSON with the median codes per second over the runs (floor: 200,000 per second).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from identifiers import USCC_ALPHABET, id_check_char, uscc_check_char, validate  # noqa: E402


def corpus(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2:
            born = f"{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            first = f"440604{born}{rng.randint(0, 999):03d}"
            code = first + id_check_char(first)
        else:
            first = "91440604" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
            code = first + uscc_check_char(first)
        if i % 10 == 0:  # one in ten is mistyped
            code = code[:17] + ("0" if code[17] != "0" else "1")
        elif i % 10 == 1:  # one in ten is pasted in lower case with spaces
            code = code[:6].lower() + " " + code[6:].lower()
        out.append(code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    codes = corpus(args.codes)
    rates, valid = [], 0
    for _ in range(args.runs):
        started = time.perf_counter()
        valid = sum(1 for c in codes if validate(c).valid)
        rates.append(len(codes) / (time.perf_counter() - started))
    print(
        json.dumps(
            {
                "benchmark": "code validation",
                "codes": len(codes),
                "runs": args.runs,
                "valid": valid,
                "median_codes_per_second": round(statistics.median(rates)),
                "min_codes_per_second": round(min(rates)),
                "floor": 200_000,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
