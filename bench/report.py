"""bench/results/<date>.md and .png from the figures bench/run.py measured.

Headings and chart titles say what is measured, in the words of bench/README.md; the JSON keys
(front, plan, builds) are the sections' short names.

Regenerate both from a results file without measuring again:
`.venv/bin/python -m bench.report bench/results/<date>.json`.
"""

from __future__ import annotations

from pathlib import Path


def _fig(s: dict) -> str:
    return f"{s['median']:.3f} s (IQR {s['q1']:.3f}–{s['q3']:.3f}, n={s['n']})"


def _verdict(value: float, target: float) -> str:
    return "meets" if value <= target else f"misses by {value - target:.3f}"


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"Measured {r['date']} on {m['cores']} cores, {m['memory_gib']} GiB, dockerd {m['dockerd']}, {m['buildx']}; "
        f"load average {m['load_before']:.2f} at the start{' (quick mode)' if r['quick'] else ''}. "
        "Figures: median (interquartile range, n); runs alternated in rounds.",
        "",
    ]
    if "front" in r:
        f = r["front"]
        lines += [
            "## bakery's own cost per command (ours − raw buildx − invoke's start)",
            "",
            "| figure | ours | raw buildx | invoke --version | ours − raw − start | target |",
            "|---|---|---|---|---|---|",
        ]
        for key, label in (("print", "`--print install`"), ("cached_build", "fully cached `install`")):
            row = f[key]
            lines.append(
                f"| {label} | {_fig(row['ours'])} | {_fig(row['raw'])} | {_fig(f['start'])} | "
                f"{row['overhead']['median']:.3f} s (IQR {row['overhead']['q1']:.3f}–{row['overhead']['q3']:.3f}) | "
                f"≤ {row['target']} s: {_verdict(row['overhead']['median'], row['target'])} |"
            )
        calls = f["docker_calls"]
        lines += [
            "",
            f"Docker CLI calls: `--print` {calls['print']}; cached build {calls['cached_build_warm_probe_cache']} "
            f"on a warm probe cache, {calls['cached_build_cold_probe_cache']} on a cold one.",
            "",
        ]
    if "plan" in r:
        lines += [
            "## Plan time against raw buildx (`invoke plan --matrix NAME` over one raw `--print` + invoke's start)",
            "",
            "| matrix | vectors | ours | raw `--print` | ratio ours / (raw + start) | target | docker calls |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, row in r["plan"].items():
            ratio = row["ratio"]
            lines.append(
                f"| {name} | {row['vectors']} | {_fig(row['ours'])} | {_fig(row['raw'])} | "
                f"{ratio['median']:.2f} (IQR {ratio['q1']:.2f}–{ratio['q3']:.2f}) | ≤ {row['target']}: "
                f"{_verdict(ratio['median'], row['target'])} | {row['docker_calls']} |"
            )
        lines.append("")
    if "builds" in r:
        b = r["builds"]
        lines += [
            "## Edit-loop time against cargo (a one-line edit, then an incremental `install`)",
            "",
            "| figure | value |",
            "|---|---|",
            f"| incremental `install` through bakery | {_fig(b['incremental'])} |",
            f"| raw fully cached bake of `install` | {_fig(b['raw_cached'])} |",
            f"| incremental − raw cached − invoke's start | {_fig(b['beyond_cached'])} |",
            f"| cargo floor (`docker exec`, warm target dir) | {_fig(b['floor'])} |",
            f"| **edit loop over cargo alone** ((incremental − raw cached − start) / floor) "
            f"| **{b['incremental_over_floor']}** "
            f"(target ≤ {b['target']}: {_verdict(b['incremental_over_floor'], b['target'])}) |",
            f"| install + tests-smoke after an edit | {_fig(b['install_smoke'])} |",
            f"| install + tests-smoke over floor | {b['install_smoke_over_floor']} |",
            "",
            f"Steps of the last incremental `install`: {b['incremental_steps']}.",
            "",
        ]
    if "cold" in r:
        lines += [f"Cold (`--no-cache`) install + tests-smoke: {r['cold']['no_cache_seconds']} s.", ""]
    if "systems" in r:
        sys_ = r["systems"]
        lines += [
            f"The system cells cold: {sys_['cells']} cells in one bake {sys_['together_seconds']} s, each alone "
            f"{sys_['alone_sum_seconds']} s in all: {sys_['ratio']:.2f} of the sum.",
            "",
            "| cell | alone (s) | `-V` of its image |",
            "|---|---|---|",
            *(
                f"| {cell} | {secs} | `{sys_['versions'].get(cell, '')}` |"
                for cell, secs in sys_["alone_seconds"].items()
            ),
            "",
        ]
    if "attest" in r:
        a = r["attest"]
        lines += [
            f"A warm push of `github` with attestations {_fig(a['attested'])}, without {_fig(a['plain'])}; "
            f"paired difference {_fig(a['difference'])}; ratio of medians {a['ratio']:.2f}.",
            "",
        ]
    return "\n".join(lines)


def chart(r: dict, path: Path) -> bool:
    """A bar chart of each section's figure against its target (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = [k for k in ("front", "plan", "builds") if k in r]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, key in zip(axes[0], panels, strict=True):
        if key == "front":
            keys = ["print", "cached_build"]
            values = [r["front"][n]["overhead"]["median"] for n in keys]
            targets = [r["front"][n]["target"] for n in keys]
            names = ["--print install", "fully cached install"]
            ax.set_title("bakery's own cost per command\n(ours − raw buildx − invoke's start)")
            ax.set_ylabel("seconds")
        elif key == "plan":
            names = list(r["plan"])
            values = [r["plan"][n]["ratio"]["median"] for n in names]
            targets = [r["plan"][n]["target"] for n in names]
            names = [f"{n}\n{r['plan'][n]['vectors']} vectors" for n in names]
            ax.set_title("plan time against raw buildx\n(ours / (raw --print + invoke's start))")
            ax.set_ylabel("ratio")
        else:
            names = ["install", "install + tests-smoke"]
            values = [r["builds"]["incremental_over_floor"], r["builds"]["install_smoke_over_floor"]]
            targets = [r["builds"]["target"], float("nan")]
            ax.set_title("edit-loop time against cargo\n(over cargo alone, warm target directory)")
            ax.set_ylabel("ratio")
        ax.bar(names, values, color="#48c")
        ax.scatter(names, targets, color="#c44", marker="_", s=600, label="target", zorder=3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=96)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    """Rewrite the .md and .png beside each results JSON given."""
    import json
    import sys

    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m bench.report bench/results/<date>.json ...", file=sys.stderr)
        return 2
    for path in paths:
        results = json.loads(path.read_text())
        path.with_suffix(".md").write_text(markdown(results))
        chart(results, path.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
