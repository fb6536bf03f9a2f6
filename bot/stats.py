"""Usage figures for the clinic (/stats, ``backpain-bot stats``): computed, as text, as a page.

The engine emits ``Count(name)`` effects and the adapters store them as per-day totals
(:meth:`bot.storage.Storage.count`); nothing here knows who said what. The figures are read
from those names:

- ``conversation``: a session that was new or quiet for 30+ minutes (the engine decides);
- ``answer:<topic>``: a topic's answer was shown (typed question, a did-you-mean choice, or a
  topic picked from the menu);
- ``unknown`` and ``none-of-these``: a question the bot could not answer;
- ``declined:<kind>``: a request for a diagnosis or a dose, declined, with nothing to answer;
- ``suggest``: did-you-mean choices were offered (the choice then counts as one of the above);
- ``screening:started``, ``screening:<outcome-id>``: a screening begun and finished;
- ``red-flag:<category>``: the urgent-care message; an outcome marked ``urgent`` counts too;
- ``callback:requested``: a person asked the clinic to call back;
- ``red_flag_reminder``: an answer came with a line on where to go if it is urgent (red-flag
  words ruled out by their context, or a message that reads like an urgent one);
- ``warning_signs``: someone asked what the warning signs are;
- ``about_bot``: a question about the bot itself; stored, not shown.

So each question ends as exactly one of answered, unanswered or declined, and "questions" is
their sum; a did-you-mean left without a choice is not counted as a question.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final

from bot.storage import DailyCount, Storage

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bot.knowledge import KnowledgeBase

WINDOWS: Final = (7, 30)
TEXT_TOP_TOPICS: Final = 5
CHART_TOP_TOPICS: Final = 8
INSTALL_HINT: Final = "pip install 'backpain-bot[report]'"

# Colours that stay apart for the common kinds of colour blindness (Okabe-Ito based).
ANSWERED: Final = "#0f7b6c"
UNANSWERED: Final = "#d55e00"
DECLINED: Final = "#8a94a6"
URGENT: Final = "#b3261e"
ACCENT: Final = "#2c5d8a"
INK: Final = "#1f2933"


class ChartsUnavailableError(RuntimeError):
    """matplotlib, which draws the HTML report's charts, is not installed."""


@dataclass(frozen=True)
class Labels:
    """Readable names for ids, from the knowledge base; unknown ids are shown as they are."""

    topics: Mapping[str, str] = field(default_factory=dict)
    outcomes: Mapping[str, str] = field(default_factory=dict)
    urgent_outcomes: frozenset[str] = frozenset()
    red_flags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_knowledge(cls, kb: KnowledgeBase) -> Labels:
        return cls(
            topics={t.id: t.title for t in kb.topics},
            outcomes={o.id: o.title for o in kb.screening.outcomes},
            urgent_outcomes=frozenset(o.id for o in kb.screening.outcomes if o.urgent),
            red_flags={c.id: c.title for c in kb.red_flags.categories},
        )

    def topic(self, topic_id: str) -> str:
        return self.topics.get(topic_id, topic_id)

    def outcome(self, outcome_id: str) -> str:
        return self.outcomes.get(outcome_id, outcome_id)


@dataclass(frozen=True)
class Day:
    """The questions of one day, for the per-day chart."""

    day: date
    answered: int
    unanswered: int
    declined: int

    @property
    def questions(self) -> int:
        return self.answered + self.unanswered + self.declined


@dataclass(frozen=True)
class Figures:
    """Everything /stats shows for one window of days ending today (both ends included)."""

    days: int
    first: date
    last: date
    conversations: int
    answered: int
    unanswered: int
    declined: int
    suggestions: int
    screenings_started: int
    screenings_completed: int
    red_flag_redirects: int
    safety_reminders: int
    warning_signs_asked: int
    appointment_requests: int
    top_topics: tuple[tuple[str, int], ...]  # (topic id, answers shown), most first
    outcomes: tuple[tuple[str, int], ...]  # (screening outcome id, count), most first
    per_day: tuple[Day, ...]

    @property
    def questions(self) -> int:
        return self.answered + self.unanswered + self.declined

    @property
    def share_answered(self) -> float | None:
        """Answered questions as a share of all questions (0-1), None with no questions."""
        return self.answered / self.questions if self.questions else None

    @property
    def unanswered_rate(self) -> float | None:
        return self.unanswered / self.questions if self.questions else None


@dataclass(frozen=True)
class Report:
    """The figures of each window, with what the renderers need to label them."""

    clinic: str
    generated: datetime
    windows: tuple[Figures, ...]
    labels: Labels = field(default_factory=Labels)

    @property
    def longest(self) -> Figures:
        return max(self.windows, key=lambda f: f.days)


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    # Most first; ties by id, so the order does not depend on the order of the rows.
    return tuple(
        sorted(((k, v) for k, v in counter.items() if v > 0), key=lambda p: (-p[1], p[0]))
    )


def figures(
    rows: Iterable[DailyCount], today: date, days: int, labels: Labels | None = None
) -> Figures:
    """The figures for the ``days`` days ending with ``today``; rows outside are ignored."""
    if days < 1:
        raise ValueError(f"a window needs at least one day, not {days}")
    labels = labels or Labels()
    first = today - timedelta(days=days - 1)
    totals: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    daily: dict[date, Counter[str]] = {first + timedelta(days=i): Counter() for i in range(days)}
    for row in rows:
        if not first <= row.day <= today:
            continue
        kind, _, detail = row.name.partition(":")
        if kind == "answer":
            topics[detail] += row.count
            group = "answered"
        elif kind in ("unknown", "none-of-these"):
            group = "unanswered"
        elif kind == "declined":
            group = "declined"
        elif kind == "screening" and detail == "started":
            group = "screening-started"
        elif kind == "screening" and detail:
            outcomes[detail] += row.count
            group = "screening-completed"
            if detail in labels.urgent_outcomes:
                totals["red-flag"] += row.count
        else:
            group = kind  # conversation, suggest, red-flag, callback, and names yet to come
            if kind == "callback" and detail != "requested":
                continue
        totals[group] += row.count
        daily[row.day][group] += row.count
    return Figures(
        days=days,
        first=first,
        last=today,
        conversations=totals["conversation"],
        answered=totals["answered"],
        unanswered=totals["unanswered"],
        declined=totals["declined"],
        suggestions=totals["suggest"],
        screenings_started=totals["screening-started"],
        screenings_completed=totals["screening-completed"],
        red_flag_redirects=totals["red-flag"],
        safety_reminders=totals["red_flag_reminder"],
        warning_signs_asked=totals["warning_signs"],
        appointment_requests=totals["callback"],
        top_topics=_ranked(topics),
        outcomes=_ranked(outcomes),
        per_day=tuple(
            Day(d, c["answered"], c["unanswered"], c["declined"]) for d, c in daily.items()
        ),
    )


def build_report(
    rows: Iterable[DailyCount],
    now: datetime,
    *,
    clinic: str,
    labels: Labels | None = None,
    windows: Iterable[int] = WINDOWS,
) -> Report:
    """The report for windows ending on ``now``'s day (pass the same clock as to ``count``)."""
    labels = labels or Labels()
    kept = list(rows)
    return Report(
        clinic=clinic,
        generated=now,
        windows=tuple(figures(kept, now.date(), days, labels) for days in windows),
        labels=labels,
    )


def load_report(
    storage: Storage,
    now: datetime,
    *,
    clinic: str,
    labels: Labels | None = None,
    windows: Iterable[int] = WINDOWS,
) -> Report:
    """Read the totals the windows need from ``storage`` and build the report."""
    spans = tuple(windows)
    since = now.date() - timedelta(days=max(spans) - 1)
    return build_report(
        storage.counts(since, now.date()), now, clinic=clinic, labels=labels, windows=spans
    )


# --- text ------------------------------------------------------------------------------------


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


def _span(first: date, last: date) -> str:
    if first.year == last.year:
        return f"{first.day} {first:%b}–{_day(last)}"
    return f"{_day(first)}–{_day(last)}"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _rows(report: Report) -> list[tuple[str, list[str]]]:
    """(label, one value per window): the key numbers, shared by the text and the page."""
    w = report.windows
    return [
        ("Conversations", [str(f.conversations) for f in w]),
        ("Questions", [str(f.questions) for f in w]),
        ("Answered", [f"{_percent(f.share_answered)} ({f.answered})" for f in w]),
        ("Unanswered", [f"{_percent(f.unanswered_rate)} ({f.unanswered})" for f in w]),
        ("Declined (diagnosis, dose)", [str(f.declined) for f in w]),
        ("Screenings started", [str(f.screenings_started) for f in w]),
        ("Screenings completed", [str(f.screenings_completed) for f in w]),
        ("Red-flag redirects", [str(f.red_flag_redirects) for f in w]),
        ("Answers with a safety reminder", [str(f.safety_reminders) for f in w]),
        ("Warning signs asked", [str(f.warning_signs_asked) for f in w]),
        ("Appointment requests", [str(f.appointment_requests) for f in w]),
    ]


def render_text(report: Report) -> str:
    """Short plain text: fits one Telegram message and reads in a proportional font."""
    heads = " / ".join(f"last {f.days} days ({_span(f.first, f.last)})" for f in report.windows)
    lines = [
        f"Usage figures — {report.clinic}",
        heads[:1].upper() + heads[1:],
        "",
    ]
    lines += [f"{label}: {' / '.join(values)}" for label, values in _rows(report)]
    longest = report.longest
    labels = report.labels
    if longest.top_topics:
        lines += ["", f"Top topics, last {longest.days} days:"]
        lines += [
            f"  {i}. {labels.topic(t)} — {n}"
            for i, (t, n) in enumerate(longest.top_topics[:TEXT_TOP_TOPICS], 1)
        ]
    if longest.outcomes:
        lines += ["", f"Screening outcomes, last {longest.days} days:"]
        lines += [f"  {labels.outcome(o)} — {n}" for o, n in longest.outcomes]
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #e3e8ef; --accent: #2c5d8a; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f9; color: var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 40px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 22px; }
h1 { margin: 0; font-size: 28px; }
.sub { color: var(--muted); margin-top: 4px; }
h2 { font-size: 18px; margin: 30px 0 12px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 10px;
        padding: 14px 16px; border-top: 4px solid var(--accent); }
.tile.warn { border-top-color: #b3261e; }
.tile.good { border-top-color: #0f7b6c; }
.tile .label { color: var(--muted); font-size: 13px; text-transform: uppercase;
               letter-spacing: .04em; }
.tile .value { font-size: 34px; font-weight: 700; line-height: 1.15; margin-top: 4px; }
.tile .week { color: var(--muted); font-size: 13px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px;
         padding: 10px 12px 6px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; padding: 4px 4px 6px; }
table { border-collapse: collapse; background: #fff; width: 100%;
        border: 1px solid var(--line); }
th, td { text-align: left; padding: 7px 12px; border-bottom: 1px solid var(--line); }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: 13px; margin-top: 26px; }
@media (max-width: 760px) { .tiles { grid-template-columns: 1fr 1fr; }
                            .charts { grid-template-columns: 1fr; } }
@media print { body { background: #fff; } .tile, figure { break-inside: avoid; } }
"""


def _tile(label: str, value: str, week: str, kind: str = "") -> str:
    return (
        f'<div class="tile {kind}"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div>'
        f'<div class="week">{html.escape(week)}</div></div>'
    )


def _tiles(report: Report) -> str:
    long, short = report.longest, min(report.windows, key=lambda f: f.days)
    week = f"last {short.days} days: "
    tiles = [
        _tile("Conversations", str(long.conversations), week + str(short.conversations)),
        _tile("Questions", str(long.questions), week + str(short.questions)),
        _tile(
            "Answered",
            _percent(long.share_answered),
            week + _percent(short.share_answered),
            "good",
        ),
        _tile(
            "Unanswered",
            _percent(long.unanswered_rate),
            week + _percent(short.unanswered_rate),
        ),
        _tile(
            "Screenings started",
            str(long.screenings_started),
            week + str(short.screenings_started),
        ),
        _tile(
            "Screenings completed",
            str(long.screenings_completed),
            week + str(short.screenings_completed),
        ),
        _tile(
            "Red-flag redirects",
            str(long.red_flag_redirects),
            week + str(short.red_flag_redirects),
            "warn",
        ),
        _tile(
            "Appointment requests",
            str(long.appointment_requests),
            week + str(short.appointment_requests),
            "good",
        ),
    ]
    return '<section class="tiles">' + "".join(tiles) + "</section>"


def _table(report: Report) -> str:
    head = "".join(f'<th class="n">Last {f.days} days</th>' for f in report.windows)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f'<td class="n">{html.escape(v)}</td>' for v in values)
        + "</tr>"
        for label, values in _rows(report)
    )
    return f"<table><thead><tr><th>Figure</th>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    """One self-contained page (inline CSS and SVG charts, no script, works offline).

    Raises :class:`ChartsUnavailableError` when matplotlib is not installed.
    """
    charts = _charts(report)
    long = report.longest
    figures_html = "".join(
        f'<figure id="{chart_id}">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'
        for chart_id, caption, svg in charts
    )
    clinic = html.escape(report.clinic)
    made = html.escape(f"{_day(report.generated.date())} {report.generated:%H:%M %Z}".strip())
    period = html.escape(f"Last {long.days} days: {_span(long.first, long.last)}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{clinic} — back-pain bot report</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{clinic}</h1>
<div class="sub">Back-pain bot report · {period} · made {made}</div>
</header>
{_tiles(report)}
<h2>Charts, last {long.days} days</h2>
<section class="charts">{figures_html}</section>
<h2>All figures</h2>
{_table(report)}
<footer>
<p>How things are counted: a <b>conversation</b> starts when someone writes after 30 minutes
or more of silence. Each <b>question</b> ends as answered (an answer shown, also when a topic is
picked from the menu), unanswered (the bot did not know, or none of its suggestions fitted) or
declined (a request for a diagnosis or a dose). <b>Red-flag redirects</b> are the times the bot
sent someone to urgent care. The bot stores only daily totals here: no names, ids or messages.
</p>
</footer>
</main>
</body>
</html>
"""


# --- charts ----------------------------------------------------------------------------------


def _svg(fig: Figure, chart_id: str) -> str:
    """The figure as an ``<svg>`` element to put inline in the page."""
    buffer = io.StringIO()
    # No creation date, so the same figures give the same page (reports can be compared).
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # Inline SVG needs no XML prolog or doctype; drop everything before the <svg> tag.
    return text[text.index("<svg") :].replace(
        "<svg ", f'<svg role="img" aria-label="{chart_id}" ', 1
    )


def _new_figure(title: str, chart_id: str, height: float = 3.3) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, height), layout="constrained")
    ax = fig.add_subplot()
    # A figure title, not an axes title: it lines up on the left whatever the axis labels.
    fig.suptitle(title, x=0.015, ha="left", fontsize=13, fontweight="bold", color=INK)
    ax.set_gid(chart_id)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _empty(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#5f6b7a", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


_LABEL_LIMIT: Final = 32


def _short(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= _LABEL_LIMIT else label[: _LABEL_LIMIT - 1] + "…"


def _charts(report: Report) -> list[tuple[str, str, str]]:
    """(element id, caption, inline SVG) for each chart."""
    try:
        import matplotlib
    except ImportError:
        raise ChartsUnavailableError(
            f"the HTML report draws its charts with matplotlib, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from None
    from matplotlib.ticker import MaxNLocator

    long = report.longest
    labels = report.labels
    charts: list[tuple[str, str, str]] = []

    def draw(chart_id: str, caption: str, title: str, paint: Callable[[Axes], None]) -> None:
        # A salt per chart makes the SVG's internal ids stable and distinct between charts.
        with matplotlib.rc_context(
            {
                # Text stays text in the SVG: smaller, sharp, searchable, and readable by the test.
                "svg.fonttype": "none",
                # Titles from the knowledge base may hold "$"; never read them as math.
                "text.parse_math": False,
                "font.family": "sans-serif",
                "font.size": 10,
                "axes.edgecolor": "#9aa5b1",
                "axes.labelcolor": INK,
                "xtick.color": "#52606d",
                "ytick.color": "#52606d",
                "axes.titlecolor": INK,
                "svg.hashsalt": chart_id,
            }
        ):
            fig, ax = _new_figure(title, chart_id)
            paint(ax)
            charts.append((chart_id, caption, _svg(fig, chart_id)))

    def per_day(ax: Axes) -> None:
        days = long.per_day
        if not any(d.questions for d in days):
            _empty(ax, "No questions in this period yet")
            return
        xs = list(range(len(days)))
        answered = [d.answered for d in days]
        unanswered = [d.unanswered for d in days]
        declined = [d.declined for d in days]
        ax.bar(xs, answered, color=ANSWERED, label="Answered", width=0.8)
        ax.bar(xs, unanswered, bottom=answered, color=UNANSWERED, label="Unanswered", width=0.8)
        ax.bar(
            xs,
            declined,
            bottom=[a + u for a, u in zip(answered, unanswered, strict=True)],
            color=DECLINED,
            label="Declined",
            width=0.8,
        )
        step = max(1, len(days) // 6)
        ticks = list(range(len(days) - 1, -1, -step))[::-1]
        ax.set_xticks(ticks, [f"{days[i].day.day} {days[i].day:%b}" for i in ticks])
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", color="#e3e8ef")
        ax.set_axisbelow(True)
        ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
        ax.margins(x=0.01)

    def shares(ax: Axes) -> None:
        windows = sorted(report.windows, key=lambda f: f.days)
        if not any(f.questions for f in windows):
            _empty(ax, "No questions in this period yet")
            return
        names = [f"Last {f.days} days" for f in windows]
        left = [0.0] * len(windows)
        for label, colour, values in (
            ("Answered", ANSWERED, [f.answered for f in windows]),
            ("Unanswered", UNANSWERED, [f.unanswered for f in windows]),
            ("Declined", DECLINED, [f.declined for f in windows]),
        ):
            widths = [
                100 * v / f.questions if f.questions else 0.0
                for v, f in zip(values, windows, strict=True)
            ]
            bars = ax.barh(names, widths, left=left, color=colour, label=label, height=0.55)
            ax.bar_label(
                bars,
                labels=[f"{round(w)}%" if w >= 9 else "" for w in widths],
                label_type="center",
                color="white",
                fontweight="bold",
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_xlim(0, 100)
        ax.invert_yaxis()
        ax.set_xlabel("share of questions (%)")
        ax.legend(frameon=False, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))

    def ranked(
        pairs: tuple[tuple[str, int], ...],
        name: Callable[[str], str],
        colour: Callable[[str], str],
        empty: str,
    ) -> Callable[[Axes], None]:
        def paint(ax: Axes) -> None:
            if not pairs:
                _empty(ax, empty)
                return
            shown = list(reversed(pairs))
            bars = ax.barh(
                [_short(name(k)) for k, _ in shown],
                [n for _, n in shown],
                color=[colour(k) for k, _ in shown],
                height=0.6,
            )
            ax.bar_label(bars, padding=3, color=INK)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.margins(x=0.12)
            ax.grid(axis="x", color="#e3e8ef")
            ax.set_axisbelow(True)

        return paint

    draw(
        "chart-questions-per-day",
        f"Questions each day, {_span(long.first, long.last)}",
        "Questions per day",
        per_day,
    )
    draw(
        "chart-answered",
        "How questions ended, as a share of all questions in each period",
        "Answered vs unanswered",
        shares,
    )
    draw(
        "chart-top-topics",
        f"Answers shown per topic, last {long.days} days",
        "Top topics",
        ranked(
            long.top_topics[:CHART_TOP_TOPICS],
            labels.topic,
            lambda _k: ACCENT,
            "No answers shown in this period yet",
        ),
    )
    draw(
        "chart-screening-outcomes",
        f"How finished screenings ended, last {long.days} days "
        f"({long.screenings_completed} of {long.screenings_started} started)",
        "Screening outcomes",
        ranked(
            long.outcomes,
            labels.outcome,
            lambda k: URGENT if k in labels.urgent_outcomes else ACCENT,
            "No screenings finished in this period yet",
        ),
    )
    return charts
