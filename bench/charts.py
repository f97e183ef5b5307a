"""Draw the newest benchmark results as SVG charts in docs/ (no plotting library needed).

    .venv/bin/python bench/charts.py      # reads bench/results/*.json, writes docs/*.svg

`docs/benchmarks.md` shows the charts; rerun this after a benchmark to refresh them.
"""

from __future__ import annotations

import json
import math
import sys
from html import escape
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
DOCS = Path(__file__).parent.parent / "docs"
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP = 70, 20, 62
INK, GRID, BLUE, ORANGE, GREEN, RED = "#222", "#ddd", "#3b6fb6", "#e08a2c", "#3a9a5b", "#c0392b"


def newest(prefix: str) -> dict[str, Any] | None:
    files = sorted(RESULTS.glob(f"{prefix}-*.json"))
    return json.loads(files[-1].read_text()) if files else None


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value`."""
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


class Chart:
    """One panel: x and y ranges, axes with ticks, then lines, bars and a legend."""

    def __init__(
        self,
        title: str,
        x_max: float,
        y_max: float,
        *,
        x_label: str,
        y_label: str,
        bottom: int = 50,
    ) -> None:
        self.x_max, self.y_max, self.bottom = x_max, nice_ceiling(y_max), bottom
        self.legend_x = float(WIDTH - RIGHT)
        self.parts = [
            f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
            f'<text x="{WIDTH / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
            f"{escape(x_label)}</text>",
            f'<text transform="translate(16 {HEIGHT / 2}) rotate(-90)" text-anchor="middle">'
            f"{escape(y_label)}</text>",
        ]
        for i in range(6):
            value = self.y_max * i / 5
            y = self.y(value)
            self.parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{GRID}"/>'
                f'<text x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{value:g}</text>'
            )

    def x(self, value: float) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * value / self.x_max, 1)

    def y(self, value: float) -> float:
        return round(HEIGHT - self.bottom - (HEIGHT - TOP - self.bottom) * value / self.y_max, 1)

    def x_ticks(self, values: list[float]) -> None:
        for value in values:
            self.parts.append(
                f'<text x="{self.x(value)}" y="{HEIGHT - self.bottom + 16}" text-anchor="middle">'
                f"{value:g}</text>"
            )

    def line(self, points: list[tuple[float, float]], color: str, label: str) -> None:
        path = " ".join(f"{self.x(x)},{self.y(y)}" for x, y in points)
        self.parts.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>'
        )
        for x, y in points:
            self.parts.append(f'<circle cx="{self.x(x)}" cy="{self.y(y)}" r="3" fill="{color}"/>')
        self.legend(label, color)

    def legend(self, label: str, color: str) -> None:
        """Keys right-aligned on the line under the title, added right to left."""
        width = 7 * len(label) + 22
        self.legend_x -= width
        self.parts.append(
            f'<rect x="{self.legend_x}" y="{TOP - 22}" width="12" height="12" fill="{color}"/>'
        )
        self.label(self.legend_x + 16, TOP - 12, label)

    def target(self, value: float, label: str) -> None:
        y = self.y(value)
        self.parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="{RED}" '
            f'stroke-dasharray="6 4" stroke-width="1.5"/>'
        )
        self.label(WIDTH - RIGHT - 4, y - 6, label, RED, anchor="end")

    def bar(self, x: float, width: float, value: float, color: str) -> None:
        shown = min(value, self.y_max)
        self.parts.append(
            f'<rect x="{x}" y="{self.y(shown)}" width="{width}" '
            f'height="{round(self.y(0) - self.y(shown), 1)}" fill="{color}"/>'
        )

    def label(self, x: float, y: float, text: str, color: str = INK, anchor: str = "start") -> None:
        self.parts.append(
            f'<text x="{x}" y="{y}" fill="{color}" text-anchor="{anchor}">{escape(text)}</text>'
        )

    def svg(self, note: str) -> str:
        self.parts.append(
            f'<text x="{LEFT}" y="38" font-size="11" fill="#777">{escape(note)}</text>'
        )
        body = "\n".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12" '
            f'fill="{INK}">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
        )


def note(result: dict[str, Any]) -> str:
    return (
        f"{result['started_at'][:16].replace('T', ' ')} UTC, commit {result.get('commit') or '?'}"
    )


def email_charts(results: dict[str, Any]) -> dict[str, str]:
    # The in-order import; results from before the shuffled case had it at the top level.
    result = {**results, **results.get("cases", {}).get("in_order", {})}
    samples = result["import"]["memory_mib"]["samples"]
    total = samples[-1]["messages"]
    ticks = [total * i / 5 for i in range(6)]
    rate = [(s["messages"], s["messages"] / s["seconds"]) for s in samples if s["seconds"]]
    target = result["targets"]["messages_per_second"]
    speed = Chart(
        "Email import through IMAP: messages per second so far",
        total,
        max(target, *(r for _, r in rate)) * 1.15,
        x_label="messages imported",
        y_label="messages per second",
    )
    speed.x_ticks(ticks)
    speed.target(target, f"target {target:g} msg/s")
    speed.line(rate, BLUE, f"{result['import']['messages_per_second']:g} msg/s end to end")

    rss = [(0.0, result["import"]["memory_mib"]["before"]["rss"])]
    rss += [(s["messages"], s["rss"]) for s in samples]
    peak = [(s["messages"], s["peak"]) for s in samples]
    memory = Chart(
        "Email import: memory of the importing process",
        total,
        max(p for _, p in peak) * 1.3,
        x_label="messages imported",
        y_label="MiB",
    )
    memory.x_ticks(ticks)
    memory.line(peak, ORANGE, "peak (VmHWM)")
    memory.line(rss, GREEN, "resident (VmRSS)")
    return {"bench-email-ingest-rate.svg": speed.svg(note(result)),
            "bench-email-ingest-memory.svg": memory.svg(note(result))}  # fmt: skip


SHORT_NAMES = {
    "status=open&priority=urgent": "open & urgent",
    "created_after..before (1 day)": "one day",
}


def api_chart(result: dict[str, Any]) -> dict[str, str]:
    clients = result["config"]["concurrency"]
    rows = [(f"POST create (x{clients})", result["create"], result["targets"]["create_p99_ms"])]
    rows += [
        (f"GET {SHORT_NAMES.get(name, name)}", summary, result["targets"]["list_p99_ms"])
        for name, summary in result["list"].items()
    ]
    y_max = 200.0
    chart = Chart(
        "API latency per workload, client-side (creates at 32 concurrent clients, lists at 8)",
        len(rows),
        y_max,
        x_label="",
        y_label="ms (bars cut at 200)",
        bottom=95,
    )
    slot = (WIDTH - LEFT - RIGHT) / len(rows)
    width = slot * 0.7 / 3
    for index, (name, summary, target) in enumerate(rows):
        x0 = LEFT + index * slot + slot * 0.15
        for offset, (key, color) in enumerate(
            (("p50_ms", GREEN), ("p95_ms", ORANGE), ("p99_ms", BLUE))
        ):
            chart.bar(round(x0 + offset * width, 1), round(width - 1, 1), summary[key], color)
        target_y = chart.y(target)
        chart.parts.append(
            f'<line x1="{round(x0 - 2, 1)}" x2="{round(x0 + 3 * width + 1, 1)}" y1="{target_y}" '
            f'y2="{target_y}" stroke="{RED}" stroke-width="2"/>'
        )
        label_x, label_y = round(x0 + 2 * width, 1), HEIGHT - chart.bottom + 14
        chart.parts.append(
            f'<text transform="translate({label_x} {label_y}) rotate(-35)" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        if summary["p99_ms"] > y_max:
            chart.label(round(x0 + 2.5 * width, 1), chart.y(y_max) - 4, f"{summary['p99_ms']:.0f}",
                        BLUE, anchor="middle")  # fmt: skip
    for key, color in (("target p99", RED), ("p99", BLUE), ("p95", ORANGE), ("p50", GREEN)):
        chart.legend(key, color)
    return {"bench-api-load.svg": chart.svg(note(result))}


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    written: dict[str, str] = {}
    if (email := newest("email_ingest")) is not None:
        written |= email_charts(email)
    if (api := newest("api_load")) is not None:
        written |= api_chart(api)
    if not written:
        print(f"no results in {RESULTS}: run a benchmark first", file=sys.stderr)
        return 1
    for name, svg in written.items():
        (DOCS / name).write_text(svg)
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
