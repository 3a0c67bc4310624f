"""The deterministic parser: a question in plain words becomes an intent, without a model, a
network or a download (docs/ask.md, "The parser").

It reads, in this order, from the words of the question:

1. comparisons after "vs", "compared with", "on"… ("vs last year", "on pcp"), and the ones said
   alone ("year on year", "no comparison");
2. periods, Australian: presets by their labels and other words ("this FY", "last quarter"),
   quarters and years of the financial year from the organisation's fiscal start ("Q2 FY26",
   "FY2025-26"), months ("March", "in May 2025"), "since 1 July", "the last 6 weeks",
   "between 1 March and 31 May", calendar years;
3. "top 5", and the phrases of the organisation's vocabulary (`ask.vocabulary`): metrics,
   filter values, people, breakdowns ("by state", "which technician", "who") and intervals.

A word that is none of these, and no stopword, is reported as unused. A word close to a known
word (a typo: "reveune", "Queensand", "finacial") is read as that word. A question with no
metric, or asking for what no metric holds (a forecast, a "why", profit), is refused with the
closest metrics instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass

from ask import vocabulary as v
from ask.intent import MAX_METRICS, MAX_TOP, Reading, make
from metrics.definitions import METRICS, OWNER
from metrics.periods import PRESETS, add_months, fiscal_year_start
from metrics.queries import INTERVALS

MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
# "may" and "mar" are words too: a month only beside a year or after in/for/during/since.
GUARDED_MONTHS = {"may", "mar", "jan", "jun", "dec"}
MONTH_PREPOSITIONS = {"in", "for", "during", "since", "of", "from"}
MARKERS = {"by", "per", "each", "across", "which", "who", "every"}
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 0, "months": 0}
PERIOD_WORDS = {
    "quarter",
    "financial",
    "year",
    "month",
    "week",
    "weeks",
    "months",
    "days",
    "since",
    "between",
    "last",
    "past",
    "previous",
    "calendar",
    *MONTHS,
}
_TOKEN = re.compile(r"[^\s,;:!?()\"“”\[\]]+")
_YEAR = re.compile(r"^(20\d\d)$", re.ASCII)
_FY = re.compile(r"^fy'?(\d\d|20\d\d)(?:[-/](\d\d|20\d\d))?$", re.ASCII)
_SPAN = re.compile(r"^(20\d\d)[-/](\d\d)$", re.ASCII)
_QUARTER = re.compile(r"^q([1-4])$", re.ASCII)
_ISO = re.compile(r"^(20\d\d)-(\d\d)-(\d\d)$", re.ASCII)
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?$", re.ASCII)
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$", re.ASCII)
_INT = re.compile(r"^\d{1,3}$", re.ASCII)


@dataclass
class Token:
    raw: str  # as written (for codes that count only in capitals)
    word: str  # lower case, possessive dropped, typo corrected
    used: bool = False


def tokens_of(question: str) -> list[Token]:
    text = unicodedata.normalize("NFKC", question).replace("’", "'")
    out: list[Token] = []
    for match in _TOKEN.finditer(text):
        raw = match.group(0).strip(".'\"")
        word = raw.lower()
        if word.endswith("'s"):
            word = word[:-2]
        if not word:
            continue
        # Hyphenated words are their parts ("year-on-year"); dates and spans stay whole.
        if "-" in word and not any(c.isdigit() for c in word):
            out.extend(Token(part, part) for part in word.split("-") if part)
        else:
            out.append(Token(raw, word.strip("'")))
    return out


class Parser:
    """Parses questions for one organisation on one local day."""

    def __init__(
        self,
        vocab: v.Vocabulary,
        today: dt.date,
        fiscal_start_month: int = 7,
    ):
        self.vocab = vocab
        self.today = today
        self.fiscal = fiscal_start_month
        self.presets = v.preset_phrases()
        self.compares = v.compare_phrases()
        self.markers = sorted((tuple(m.split()) for m in v.COMPARE_MARKERS), key=len, reverse=True)
        self.correctable = sorted(
            vocab.known
            | PERIOD_WORDS
            | {w for p in (*self.presets, *self.compares) for w in p}
            | set(v.NUMBER_WORDS)
        )
        self.correctable = [w for w in self.correctable if len(w) >= 4 and w.isalpha()]

    # --- words --------------------------------------------------------------------------

    def _correct(self, toks: list[Token]) -> None:
        known = set(self.correctable) | v.STOPWORDS | MARKERS | set(MONTHS)
        known |= {w for marker in self.markers for w in marker}
        for tok in toks:
            w = tok.word
            if len(w) < 4 or not w.isalpha() or w in known or w in self.vocab.known:
                continue
            close = difflib.get_close_matches(w, self.correctable, n=1, cutoff=0.8)
            if close:
                tok.word = close[0]

    @staticmethod
    def _free(toks: list[Token], i: int, n: int) -> bool:
        return i + n <= len(toks) and not any(t.used for t in toks[i : i + n])

    @staticmethod
    def _take(toks: list[Token], i: int, n: int) -> None:
        for t in toks[i : i + n]:
            t.used = True

    def _phrase_at(self, toks, i, table: dict) -> tuple[int, object] | None:
        """The longest phrase of `table` starting at token i (free tokens only)."""
        longest = max((len(p) for p in table), default=0)
        for n in range(min(longest, len(toks) - i), 0, -1):
            if not self._free(toks, i, n):
                continue
            key = tuple(t.word for t in toks[i : i + n])
            if key in table:
                return n, table[key]
        return None

    # --- dates --------------------------------------------------------------------------

    def _latest(self, month: int, day: int = 1) -> dt.date | None:
        """The latest such date on or before today."""
        for year in (self.today.year, self.today.year - 1):
            try:
                date = dt.date(year, month, day)
            except ValueError:
                return None
            if date <= self.today:
                return date
        return None

    def _month_span_at(self, toks, i) -> tuple[int, dt.date, dt.date] | None:
        """Whole months written at token i: "March and May" (the latest March, to the May
        after it), "September to November 2025": (tokens it takes, first day, last day)."""
        if i + 2 >= len(toks) or toks[i].word not in MONTHS or toks[i + 2].word not in MONTHS:
            return None
        if toks[i + 1].word not in ("and", "to", "until", "till", "-"):
            return None
        first_month, last_month = MONTHS[toks[i].word], MONTHS[toks[i + 2].word]
        n = 3
        if i + 3 < len(toks) and _YEAR.match(toks[i + 3].word):
            last_year = int(toks[i + 3].word)
            first = dt.date(last_year - (first_month > last_month), first_month, 1)
            n = 4
        elif first_start := self._latest(first_month):
            first = first_start
            last_year = first.year + (first_month > last_month)
        else:
            return None
        last = add_months(dt.date(last_year, last_month, 1), 1) - dt.timedelta(days=1)
        return n, first, last

    def _date_at(self, toks, i) -> tuple[int, dt.date] | None:
        """A date written at token i: 2025-07-01, 1/7/2025, 1 July (2025), July 1st."""
        if i >= len(toks) or toks[i].used:
            return None
        w = toks[i].word
        if m := _ISO.match(w):
            try:
                return 1, dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
        if m := _DMY.match(w):
            d, mo = int(m[1]), int(m[2])
            try:
                if m[3]:
                    return 1, dt.date(int(m[3]) + (2000 if len(m[3]) == 2 else 0), mo, d)
            except ValueError:
                return None
            date = self._latest(mo, d) if 1 <= mo <= 12 else None
            return (1, date) if date else None
        day: int | None = None
        month: int | None = None
        n = 0
        if (m := _ORDINAL.match(w)) and i + 1 < len(toks) and toks[i + 1].word in MONTHS:
            day, month, n = int(m[1]), MONTHS[toks[i + 1].word], 2
        elif w in MONTHS and i + 1 < len(toks) and (m := _ORDINAL.match(toks[i + 1].word)):
            if not _YEAR.match(toks[i + 1].word):
                day, month, n = int(m[1]), MONTHS[w], 2
        if not n or day is None or month is None:
            return None
        if i + n < len(toks) and (y := _YEAR.match(toks[i + n].word)):
            try:
                return n + 1, dt.date(int(y[1]), month, day)
            except ValueError:
                return None
        date = self._latest(month, day)
        return (n, date) if date else None

    def _fy_bounds(self, end_year: int) -> tuple[dt.date, dt.date]:
        """The financial year named for the year it ends in (FY26 ends in June 2026)."""
        start = fiscal_year_start(dt.date(end_year, 6, 30), self.fiscal)
        if self.fiscal == 1:
            start = dt.date(end_year, 1, 1)
        elif start.year != end_year - 1:
            start = dt.date(end_year - 1, self.fiscal, 1)
        return start, add_months(start, 12) - dt.timedelta(days=1)

    @staticmethod
    def _year(text: str) -> int:
        return int(text) + (2000 if len(text) == 2 else 0)

    def _fy_at(self, toks, i) -> tuple[int, int] | None:
        """A financial year at token i, as the year it ends in: FY26, FY2026, FY 26,
        FY2025-26, financial year 2025-26, 2025-26, 2025/26."""
        w = toks[i].word
        if m := _FY.match(w):
            return 1, self._year(m[2]) if m[2] else self._year(m[1])
        if w == "fy" and i + 1 < len(toks):
            nxt = toks[i + 1].word
            if m := _SPAN.match(nxt):
                return 2, self._year(m[2])
            if re.fullmatch(r"\d\d|20\d\d", nxt, re.ASCII):
                return 2, self._year(nxt)
        if w == "financial" and i + 2 < len(toks) and toks[i + 1].word == "year":
            if m := _SPAN.match(toks[i + 2].word):
                return 3, self._year(m[2])
            if _YEAR.match(toks[i + 2].word):
                return 3, int(toks[i + 2].word)
        if m := _SPAN.match(w):
            return 1, self._year(m[2])
        return None

    def _count_at(self, toks, i) -> int | None:
        if i >= len(toks):
            return None
        w = toks[i].word
        if _INT.match(w):
            return int(w)
        return v.NUMBER_WORDS.get(w)

    def _period_at(self, toks, i) -> tuple[int, dict] | None:
        """A period starting at token i: (tokens it takes, {"preset"} or {"from", "to"})."""
        w = toks[i].word
        today = self.today

        def dates(first: dt.date, last: dt.date) -> dict:
            return {"from": first.isoformat(), "to": last.isoformat()}

        if w == "since" and (d := self._date_at(toks, i + 1)):
            return 1 + d[0], dates(d[1], today)
        if w == "since" and i + 1 < len(toks) and toks[i + 1].word in MONTHS:
            # "since July 2025" is from 1 July 2025 (the year was left unused: the latest
            # July was read instead); "since March", the latest March.
            if i + 2 < len(toks) and _YEAR.match(toks[i + 2].word):
                start = dt.date(int(toks[i + 2].word), MONTHS[toks[i + 1].word], 1)
                # A month to come is that month alone: refused as a period not started.
                return 3, dates(start, max(start, today))
            if latest := self._latest(MONTHS[toks[i + 1].word]):
                return 2, dates(latest, today)
        if w == "since" and i + 1 < len(toks) and _YEAR.match(toks[i + 1].word):
            # "since 2025" is from 1 January 2025 to today, not the year 2025 alone ("since
            # 2027" starts after today: refused as a period not started).
            start = dt.date(int(toks[i + 1].word), 1, 1)
            return 2, dates(start, max(start, today))
        if w in ("between", "from") and (span := self._month_span_at(toks, i + 1)):
            return 1 + span[0], dates(span[1], span[2])
        if w in ("between", "from") and (a := self._date_at(toks, i + 1)):
            j = i + 1 + a[0]
            if j < len(toks) and toks[j].word in ("and", "to", "until", "till", "-"):
                if b := self._date_at(toks, j + 1):
                    first, last = a[1], b[1]
                    if last < first and last.year == first.year:
                        last = last.replace(year=last.year + 1)
                    return j + 1 + b[0] - i, dates(first, last)
        if m := _QUARTER.match(w):
            q = int(m[1])
            fy = self._fy_at(toks, i + 1) if i + 1 < len(toks) else None
            if fy is None and i + 2 < len(toks) and toks[i + 1].word == "of":
                fy = self._fy_at(toks, i + 2)
                fy = (fy[0] + 1, fy[1]) if fy else None
            if fy:
                start = add_months(self._fy_bounds(fy[1])[0], 3 * (q - 1))
                return 1 + fy[0], dates(start, add_months(start, 3) - dt.timedelta(days=1))
            if i + 1 < len(toks) and _YEAR.match(toks[i + 1].word):
                start = dt.date(int(toks[i + 1].word), 3 * (q - 1) + 1, 1)
                return 2, dates(start, add_months(start, 3) - dt.timedelta(days=1))
            fy_start = fiscal_year_start(today, self.fiscal)
            start = add_months(fy_start, 3 * (q - 1))
            return 1, dates(start, add_months(start, 3) - dt.timedelta(days=1))
        if fy := self._fy_at(toks, i):
            return fy[0], dates(*self._fy_bounds(fy[1]))
        if found := self._phrase_at(toks, i, self.presets):
            return found[0], {"preset": found[1]}
        if w in ("last", "past") and (count := self._count_at(toks, i + 1)):
            unit = toks[i + 2].word if i + 2 < len(toks) else ""
            if unit in UNITS and count:
                if UNITS[unit]:
                    days = count * UNITS[unit]
                    preset = f"last_{days}_days"
                    if preset in PRESETS:
                        return 3, {"preset": preset}
                    return 3, dates(today - dt.timedelta(days=days - 1), today)
                start = add_months(today.replace(day=1), -count)
                start = start.replace(
                    day=min(today.day, calendar.monthrange(start.year, start.month)[1])
                )
                return 3, dates(start + dt.timedelta(days=1), today)
        if w == "this" and i + 1 < len(toks):
            nxt = toks[i + 1].word
            if nxt == "week":
                return 2, dates(today - dt.timedelta(days=today.weekday()), today)
            if nxt in ("year", "calendar"):
                n = (
                    3
                    if nxt == "calendar" and i + 2 < len(toks) and toks[i + 2].word == "year"
                    else 2
                )
                return n, dates(dt.date(today.year, 1, 1), today)
        if w in ("last", "previous") and i + 1 < len(toks):
            nxt = toks[i + 1].word
            n = 0
            if nxt == "year":
                n = 2
            elif nxt == "calendar" and i + 2 < len(toks) and toks[i + 2].word == "year":
                n = 3
            if n:
                year = today.year - 1
                return n, dates(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if w == "calendar" and i + 2 < len(toks) and toks[i + 1].word == "year":
            if _YEAR.match(toks[i + 2].word):
                year = int(toks[i + 2].word)
                return 3, dates(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if w in MONTHS:
            guarded = w in GUARDED_MONTHS
            before = toks[i - 1].word if i > 0 else ""
            has_year = i + 1 < len(toks) and _YEAR.match(toks[i + 1].word)
            if not guarded or before in MONTH_PREPOSITIONS or has_year:
                month = MONTHS[w]
                if has_year:
                    start = dt.date(int(toks[i + 1].word), month, 1)
                else:
                    start = self._latest(month) or dt.date(today.year, month, 1)
                end = add_months(start, 1) - dt.timedelta(days=1)
                return (2 if has_year else 1), dates(start, end)
        if _YEAR.match(w):
            year = int(w)
            return 1, dates(dt.date(year, 1, 1), dt.date(year, 12, 31))
        if w in ("on",) and (d := self._date_at(toks, i + 1)):
            return 1 + d[0], dates(d[1], d[1])
        return None

    # --- the question ---------------------------------------------------------------------

    def parse(self, question: str, *, asker_id: int | None = None) -> Reading:
        toks = tokens_of(question)
        self._correct(toks)
        compare = self._comparison(toks)
        rng = None
        for i in range(len(toks)):
            if toks[i].used:
                continue
            found = self._period_at(toks, i)
            if found and self._free(toks, i, found[0]):
                if rng is None:
                    rng = found[1]
                    self._take(toks, i, found[0])
        mine = any(t.word in ("my", "mine") for t in toks)
        top = self._top(toks)
        metrics: list[str] = []
        soft: list[str] = []  # "government customers": a metric only if nothing else is
        filters: dict[str, str] = {}
        last_kind = None
        by = interval = None
        refusal = None
        # The phrases, read over the free words that carry meaning.
        free = [(i, t) for i, t in enumerate(toks) if not t.used and t.word not in v.STOPWORDS]
        j = 0
        expecting_dim = top is not None
        while j < len(free):
            i, tok = free[j]
            if tok.word in MARKERS and tok.word != "who":
                tok.used = True
                expecting_dim = True
                j += 1
                continue
            if expecting_dim and tok.word.rstrip("s") in INTERVALS:
                # "by month", "per week", "each day"
                interval = interval or tok.word.rstrip("s")
                tok.used = True
                expecting_dim = False
                j += 1
                continue
            match = self._vocab_at([t for _, t in free], j)
            if match is None:
                code = self._state_code(toks, i)
                if code:
                    filters.setdefault("state", code)
                    tok.used = True
                j += 1
                continue
            n, meanings = match
            kinds = {kind for kind, _ in meanings}
            chosen = None
            if "dim" in kinds and (expecting_dim or kinds == {"dim"} and tok.word == "who"):
                chosen = next(m for m in meanings if m[0] == "dim")
            elif "dim" in kinds and kinds == {"dim"}:
                chosen = None  # a dimension word with no "by": not a breakdown
            else:
                chosen = next((m for m in meanings if m[0] != "dim"), None)
            if chosen is not None:
                kind, value = chosen
                if kind == "metric" and last_kind == "filter" and n == 1:
                    soft.append(str(value))
                elif kind == "metric" and value not in metrics:
                    metrics.append(str(value))
                elif kind == "filter":
                    param, val = value  # type: ignore[misc]
                    filters.setdefault(param, val)
                    # "installation claims": the claim kind and the claims
                    for extra_kind, extra in meanings:
                        if extra_kind == "metric" and extra not in metrics:
                            metrics.append(str(extra))
                elif kind == "dim":
                    by = by or str(value)
                    expecting_dim = False
                elif kind == "interval":
                    interval = interval or str(value)
                elif kind == "refuse":
                    refusal = refusal or str(value)
                for _, t in free[j : j + n]:
                    t.used = True
                last_kind = kind
            else:
                last_kind = None
            j += n
        unused = [
            t.raw
            for t in toks
            if not t.used
            and t.word not in v.STOPWORDS
            and t.word not in MARKERS
            and t.word not in ("my", "mine")
        ]
        if not metrics:
            metrics = soft[:1]
        if by and not metrics and by in v.DEFAULT_METRIC_BY:
            metrics.append(v.DEFAULT_METRIC_BY[by])
        if refusal or not metrics:
            reason = refusal or "no metric was named"
            return Reading(None, unused, reason, self.suggest(toks, metrics), mine)
        if len(metrics) > MAX_METRICS:
            metrics = metrics[:MAX_METRICS]
        if by and interval:
            return Reading(
                None, unused, "a breakdown and a series cannot be read at once", metrics, mine
            )
        if (by or interval) and len(metrics) > 1:
            return Reading(
                None,
                unused,
                "a breakdown or a series reads one metric at a time",
                metrics,
                mine,
            )
        if mine and asker_id is not None and "owner" not in filters:
            filters["owner"] = str(asker_id)
        intent = make(
            metrics,
            range=rng,
            compare=compare,
            filters=filters,
            by="owner" if by == OWNER else by,
            top=top if by else None,
            interval=interval,
        )
        return Reading(intent, unused, None, [], mine)

    def _comparison(self, toks: list[Token]) -> str | None:
        """The comparison: a phrase after a marker ("vs last year"), or one said alone
        ("year on year", "no comparison")."""
        for i in range(len(toks)):
            for marker in self.markers:
                n = len(marker)
                if tuple(t.word for t in toks[i : i + n]) != marker or not self._free(toks, i, n):
                    continue
                found = self._phrase_at(toks, i + n, self.compares)
                if found:
                    self._take(toks, i, n + found[0])
                    return str(found[1])
        alone = {p: c for p, c in self.compares.items() if p not in self.presets and p[0] != "last"}
        alone.pop(("yesterday",), None)
        for i in range(len(toks)):
            found = self._phrase_at(toks, i, alone)
            if found:
                self._take(toks, i, found[0])
                return str(found[1])
        return None

    def _top(self, toks: list[Token]) -> int | None:
        for i, tok in enumerate(toks):
            if tok.word in ("top", "best", "biggest", "largest", "bottom") and not tok.used:
                count = self._count_at(toks, i + 1)
                if count:
                    self._take(toks, i, 2)
                    return max(1, min(count, MAX_TOP))
        return None

    def _vocab_at(self, words: list[Token], j: int) -> tuple[int, list] | None:
        phrases = self.vocab.phrases
        for n in range(min(self.vocab.longest, len(words) - j), 0, -1):
            key = tuple(t.word for t in words[j : j + n])
            if key in phrases:
                return n, phrases[key]
        return None

    @staticmethod
    def _state_code(toks: list[Token], i: int) -> str | None:
        """ACT and NT count in capitals, or after "in"/"for"."""
        tok = toks[i]
        code = tok.raw.upper()
        if code not in v.AMBIGUOUS_CODES:
            return None
        before = toks[i - 1].word if i > 0 else ""
        return code if tok.raw == code or before in ("in", "for") else None

    def suggest(self, toks: list[Token], metrics: list[str]) -> list[str]:
        """The metrics closest to the question's words, at most three."""
        if metrics:
            return metrics[:3]
        labels = {}
        for m in METRICS.values():
            labels[m.label.lower()] = m.key
            for word in m.label.lower().split():
                labels.setdefault(word, m.key)
        out: list[str] = []
        for tok in toks:
            for close in difflib.get_close_matches(tok.word, list(labels), n=2, cutoff=0.6):
                if labels[close] not in out:
                    out.append(labels[close])
        for key in ("revenue", "quote_win_rate", "kwh_deployed"):
            if len(out) >= 3:
                break
            if key not in out:
                out.append(key)
        return out[:3]
