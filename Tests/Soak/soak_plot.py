"""The soak's report: samples.csv, a Markdown summary (report.md) and a hand-written SVG plot (soak.svg)
of RSS, descriptors, sessions and CPU over time, with the run's events marked. No plotting library."""

import html

PANELS = [
    ("rss_mb", "RSS (MB)", "#1f77b4"),
    ("fds", "open descriptors", "#ff7f0e"),
    ("sessions", "sessions (app table)", "#2ca02c"),
    ("cpu", "CPU (% of one core)", "#d62728"),
]
WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 960, 150, 80, 20, 40, 34


def nice_ceiling(value):
    """A round number at or above `value` for an axis top (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):  # fifths of these are round too
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def svg(samples, events, title, settled_rss=None, rss_slack=5.0):
    t_max = max(s["t"] for s in samples) or 1
    height = TOP + len(PANELS) * (PANEL_H + GAP) + 30
    plot_w = WIDTH - LEFT - RIGHT

    def x(t):
        return LEFT + plot_w * t / t_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{html.escape(title)}</text>',
    ]
    # Phases shaded across every panel: the load (light), the drain after it (grey).
    colours = {"idle": "#ffffff", "warm-up": "#fff4d6", "load": "#eef5ff", "drain": "#e6e6e6", "idle after": "#e8f7e8"}
    phase_spans = []  # each phase from its first sample to the next phase's first sample
    for sample in samples:
        if not phase_spans or phase_spans[-1][0] != sample["phase"]:
            if phase_spans:
                phase_spans[-1][2] = sample["t"]
            phase_spans.append([sample["phase"], sample["t"], sample["t"], colours.get(sample["phase"], "#fff")])
    if phase_spans:
        phase_spans[-1][2] = t_max
    for index, (key, label, colour) in enumerate(PANELS):
        top = TOP + index * (PANEL_H + GAP)
        values = [s[key] for s in samples]
        v_max = nice_ceiling(max(values + ([settled_rss + rss_slack] if key == "rss_mb" and settled_rss else [])) * 1.05)
        for phase, start, end, fill in phase_spans:
            parts.append(f'<rect x="{x(start):.1f}" y="{top}" width="{max(x(end) - x(start), 1):.1f}" '
                         f'height="{PANEL_H}" fill="{fill}"/>')
        parts.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#999"/>')
        for k in range(6):
            value = v_max * k / 5
            y = top + PANEL_H - PANEL_H * k / 5
            parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
            text = f"{value:.0f}" if v_max >= 10 else f"{value:.1f}"
            parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{text}</text>')
        parts.append(f'<text x="{LEFT}" y="{top - 6}" font-weight="bold" fill="{colour}">{html.escape(label)}</text>')
        if key == "rss_mb" and settled_rss:
            limit_y = top + PANEL_H - PANEL_H * (settled_rss + rss_slack) / v_max
            parts.append(f'<line x1="{LEFT}" y1="{limit_y:.1f}" x2="{LEFT + plot_w}" y2="{limit_y:.1f}" stroke="{colour}" '
                         f'stroke-dasharray="2,3" opacity="0.7"/>')
            parts.append(f'<text x="{LEFT + 90}" y="{top - 6}" fill="{colour}" font-size="11">dotted: the limit after the load, '
                         f'settled {settled_rss:.1f} + {rss_slack:.0f} MB</text>')
        points = " ".join(f"{x(s['t']):.1f},{top + PANEL_H - PANEL_H * s[key] / v_max:.1f}" for s in samples)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
        for number, (t, name) in enumerate(sorted(events)):
            parts.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{top + PANEL_H}" '
                         f'stroke="#555" stroke-dasharray="4,3"/>')
            if index == 0:  # labels on alternate rows, so neighbouring events do not overwrite each other
                near_end = x(t) > LEFT + plot_w * 0.85  # written leftwards, so it stays inside the plot
                parts.append(f'<text x="{x(t) + (-3 if near_end else 3):.1f}" y="{top + 12 + 13 * (number % 2)}" fill="#333" '
                             f'font-size="11" text-anchor="{"end" if near_end else "start"}">{html.escape(name)}</text>')
    axis_y = TOP + len(PANELS) * (PANEL_H + GAP) - GAP + 16
    for k in range(11):
        t = t_max * k / 10
        parts.append(f'<text x="{x(t):.1f}" y="{axis_y}" text-anchor="middle" fill="#444">{t:.0f}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{axis_y + 18}" text-anchor="middle" fill="#444">seconds since quench started '
                 f'(shading: yellow warm-up, blue load, grey drain until idle, green idle after)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_reports(out, samples, events, summary, failures):
    keys = ["t", "phase", "rss_mb", "fds", "sessions", "engine_sessions", "cpu", "opened", "closed"]
    with open(out / "samples.csv", "w") as f:
        f.write(",".join(keys) + "\n")
        for s in samples:
            f.write(",".join(f"{s[k]:.2f}" if isinstance(s[k], float) else str(s[k]) for k in keys) + "\n")
    verdict = "FAILED" if failures else "passed"
    (out / "soak.svg").write_text(svg(samples, events, f"quench soak, {summary['seconds']} s of load: {verdict}",
                                      summary["settled_rss"], summary["rss_slack_mb"]))

    final = summary["final"]
    settled = summary["settled_rss"]
    lines = [
        f"# Soak: {verdict}",
        "",
        f"{summary['load_seconds']:.0f} s of load (warm-up {summary['warmup_s']} s), then a drain until the server was idle.",
        "",
        "| figure | idle before | settled after warm-up | peak | after the load | check |",
        "|---|---|---|---|---|---|",
        f"| RSS (MB) | {summary['idle_rss']:.1f} | {settled if settled is None else f'{settled:.1f}'} | "
        f"{summary['peak_rss']:.1f} | {final['rss_mb']:.1f} | within {summary['rss_slack_mb']:.0f} MB above settled |",
        f"| open descriptors | {summary['idle_fds']} | | {summary['peak_fds']} | {final['fds']} | back to idle |",
        f"| sessions (app table) | 0 | | {summary['peak_sessions']} | {final['sessions']} | empty |",
        f"| engine sessions (open − closed) | 0 | | | {final['engine_sessions']} | none left |",
        "",
        f"Sessions opened: {summary['opened']} ({summary['rate']:.0f}/s over the load), closed: {summary['closed']}. "
        f"Reminders received by the steady clients: {summary['counters']['reminders']}; Redis emits received: "
        f"{summary['counters']['redis']}.",
        "",
        "| client kind | count |",
        "|---|---|",
    ]
    lines += [f"| {html.escape(name)} | {count} |" for name, count in sorted(summary["stats"].items())]
    lines += ["", "Message-queue log lines (last few):", ""]
    lines += [f"    {line}" for line in summary["redis_log"]]
    lines += ["", "Every 10% of the run:", "", "| t (s) | phase | RSS (MB) | descriptors | sessions | CPU % |", "|---|---|---|---|---|---|"]
    step = max(1, len(samples) // 10)
    for s in samples[::step] + [samples[-1]]:
        lines.append(f"| {s['t']:.0f} | {s['phase']} | {s['rss_mb']:.1f} | {s['fds']} | {s['sessions']} | {s['cpu']:.0f} |")
    lines += ["", "![plot](soak.svg)", ""]
    if failures:
        lines += ["## Failures", ""] + [f"- {failure}" for failure in failures] + [""]
    (out / "report.md").write_text("\n".join(lines))
