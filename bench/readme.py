"""``python -m bench.readme``: the README's benchmark table, regenerated from ``.bench/results.json``.

The table sits between two markers in README.md and is never edited by hand:
every row is a figure of the last run, with ours, the baseline it was
measured against in that run, and the ratio between them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from bench.report import BenchmarkError

ROOT: Final = Path(__file__).resolve().parents[1]
README: Final = ROOT / "README.md"
RESULTS: Final = ROOT / ".bench" / "results.json"
START: Final = "<!-- bench:table:start (python -m bench.readme) -->"
END: Final = "<!-- bench:table:end -->"


def _number(value: float) -> str:
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(document: Mapping[str, Any]) -> str:
    """The markdown table of every figure in a results document, in the order the run reported them."""
    lines = [
        f"Run of {document['created_at']} ({'quick' if document['quick'] else 'full'}; "
        f"{document['implementation']} {document['python']}, {document['machine']}):",
        "",
        "| id | figure | ours | baseline | ratio |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for benchmark in document["benchmarks"].values():
        for figure in benchmark["figures"]:
            unit = f" {figure['unit']}" if figure["unit"] else ""
            lines.append(
                f"| `{figure['id'] or '-'}` | {figure['subject']}: {figure['metric']} "
                f"| {_number(figure['value'])}{unit} "
                f"| {_number(figure['baseline'])}{unit} ({figure['baseline_label']}) "
                f"| {figure['ratio']:.2f}{figure['ratio_label']} |"
            )
    return "\n".join(lines)


def replace_table(readme: str, rendered: str) -> str:
    """``readme`` with the text between the markers replaced by ``rendered``; raises if a marker is missing."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise BenchmarkError(f"README.md has no {START} ... {END} section")
    return readme[: start + len(START)] + "\n" + rendered + "\n" + readme[end:]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    results = Path(arguments[0]) if arguments else RESULTS
    document = json.loads(results.read_text(encoding="utf-8"))
    README.write_text(replace_table(README.read_text(encoding="utf-8"), table(document)), encoding="utf-8")
    print(f"README.md: benchmark table from {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
