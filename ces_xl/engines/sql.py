"""The model as SQL: a table ``events(customer_id, event, date, count)`` in, one row per customer
out (``customer_id``, ``score``, ``band``, ``rank``, ``percentile``, ``top_driver``,
``biggest_gap`` with the index method, and each metric's points), by the numpy engine's rules.

The query is built once from the model as SQLGlot expressions, never by pasting text: names and
labels from the workbook enter it only as quoted literals and identifiers, which SQLGlot
escapes for each dialect. DuckDB runs it here (:mod:`ces_xl.engines.duckdb`); SQLGlot writes it
for Spark, BigQuery, Snowflake and Postgres.

Where the numbers could differ between engines, the query takes the numpy engine's steps:

* a metric's count is ``SUM(count * POWER(0.5, age / half_life))`` over the events with
  ``0 <= age < window``, rounded (:mod:`ces_xl.core.rounding`); engines add events in
  different orders, and rounding makes equal activity tie everywhere;
* every division and power is of doubles (a Spark or Postgres literal would be a decimal);
  the constants numpy works out once (a log target, the weight total) are literals of the
  same double;
* the percentile normalization and the Percentile column are the mid-rank
  ``(average rank - 1) / (n - 1)``, the average rank worked out in whole numbers and halved, as
  numpy does; 0.5 when every value is the same;
* the score is rounded before it is ranked and banded; Rank is ``RANK()`` from the top (ties
  share the best rank), and rows come out by rank, then customer ID.

The sorts behind ranks see the customer IDs and the value ranked alone, and are joined back by
ID (a window carries every column of its rows through its sort: twice the time at a million
customers); the row count and a minmax metric's least and greatest are numbers of their own.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
from sqlglot import exp

from ..core.events import date_of
from ..core.model import Model
from ..core.names import name_key
from ..core.rounding import EXACT, SCALE
from ..core.bands import NO_DATA
from ..core.scoring import DRIVER_FLOOR, contribution_header

EVENTS = "events"                 # the table the query reads


def _double(value: float) -> exp.Expression:
    """A double literal: ``CAST(<shortest repr> AS DOUBLE)``, the same double in every dialect."""
    return exp.cast(exp.Literal.number(repr(float(value))), exp.DataType.build("DOUBLE"))


def _as_double(expression: exp.Expression) -> exp.Expression:
    return exp.cast(expression, exp.DataType.build("DOUBLE"))


def _col(name: str) -> exp.Column:
    return exp.column(name)


def _from_the_top_by(function: exp.Expression, x: exp.Expression) -> exp.Window:
    """``function OVER (ORDER BY x DESC)``, NULLs last."""
    return exp.Window(this=function, order=exp.Order(expressions=[exp.Ordered(this=x, desc=True, nulls_first=False)]))


def rounded(x: exp.Expression) -> exp.Expression:
    """SQL for :func:`ces_xl.core.rounding.rounded`: ``floor(x * 1e9 + 0.5) / 1e9`` in doubles,
    ``x`` itself from 2 ** 52 on."""
    scaled = x * _double(SCALE)
    return (exp.case().when(exp.Abs(this=scaled) >= _double(EXACT), x)
            .else_(_as_double(exp.Floor(this=scaled + _double(0.5))) / _double(SCALE)))


def _greatest(values: list[exp.Expression]) -> exp.Expression:
    # ignore_nulls: there are none, and it keeps SQLGlot from guarding each argument against them
    return values[0] if len(values) == 1 else exp.Greatest(this=values[0], expressions=values[1:], ignore_nulls=True)


def _least(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.Least(this=a, expressions=[b], ignore_nulls=True)


def _from_the_top(x: exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """``RANK() OVER (ORDER BY x DESC)`` and how many rows have ``x`` or more: two windows on
    one sort (the frame is spelled out: every dialect's default is this one, but not in words)."""
    rank = _from_the_top_by(exp.Rank(), x)
    upto = _from_the_top_by(exp.Count(this=exp.Star()), x)
    upto.set("spec", exp.WindowSpec(kind="RANGE", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"))
    return rank, upto


def _of_all(function: exp.Expression, source: str) -> exp.Expression:
    """``(SELECT function FROM source)``: a number of all rows, worked out once (a window over
    every row would carry each row's columns through it)."""
    return exp.Subquery(this=exp.select(function).from_(source))


def _mid_percentile(rank: exp.Expression, upto: exp.Expression, n: exp.Expression) -> exp.Expression:
    """The mid-rank percentile of a value among all ``n`` rows, 0.5 when they cannot be told
    apart (core.scoring._midrank_percentile, step for step). From the rank from the top, how
    many rows have the value or more and the row count (whole numbers, :func:`_from_the_top`),
    twice the ascending average rank is ``2 n - rank - upto + 2``, halved exactly; all rows tie
    when ``rank`` is 1 and ``upto`` n."""
    one, two = exp.Literal.number(1), exp.Literal.number(2)
    twice_average = n * two - rank - upto + two
    average = _as_double(twice_average) / _double(2.0)
    return (exp.case().when(rank.eq(one).and_(upto.eq(n)), _double(0.5))
            .else_((average - _double(1.0)) / _as_double(n - one)))


def _minmax(x: exp.Expression, source: str) -> exp.Expression:
    lo, hi = _of_all(exp.Min(this=x), source), _of_all(exp.Max(this=x), source)
    return exp.case().when(lo.eq(hi), _double(0.5)).else_((x - lo) / (hi - lo))


def _joined(left: str, right: str) -> exp.Join:
    """``JOIN right ON left.customer_id = right.customer_id``: one row each (no ID is NULL)."""
    return exp.Join(this=exp.to_table(right), on=exp.column("customer_id", table=left).eq(
        exp.column("customer_id", table=right)))


def _argmax_label(values: list[exp.Expression], names: list[str]) -> exp.Expression:
    """The name of the first column holding the row's largest value; '' when none is above 0
    (core.scoring._argmax_label)."""
    best = _greatest(values)
    pick = exp.case()
    for value, name in zip(values, names):
        pick = pick.when(value.eq(best), exp.Literal.string(name))
    return exp.case().when(best > _double(DRIVER_FLOOR), pick.else_(exp.Literal.string(""))).else_(
        exp.Literal.string(""))


def _with(steps: list[tuple[str, exp.Select]], last: exp.Select) -> exp.Select:
    """``last`` with ``steps`` as its common table expressions, in order."""
    for name, body in steps:
        last = last.with_(name, as_=body)
    return last


@dataclass(frozen=True)
class Query:
    """The model compiled, in two halves an engine may run apart (keeping the counts in a table
    of its own): :attr:`counting` (events to one row per customer: ``customer_id`` and each
    metric's rounded count ``x0``, ``x1``, ...) and :meth:`scoring` (counts to scores), as
    named steps; :meth:`counts`, :meth:`scores` and :meth:`select` make queries of them."""

    counting: tuple[tuple[str, exp.Select], ...]  # the last step is the counts
    model: Model

    def counts(self) -> exp.Select:
        """The counts query: events to one row per customer."""
        *steps, (_, last) = self.counting
        return _with(steps, last.copy())

    def scores(self, source: str) -> exp.Select:
        """The scores query over a table of counts named ``source``: one row per customer, in no
        order (for a table, sorted by rank and customer ID as it is written)."""
        *steps, (_, last), _ordered = self.scoring(source)
        return _with(steps, last)

    def select(self) -> exp.Select:
        """The whole query, events to scores, as one statement."""
        *steps, (_, last) = self.scoring(self.counting[-1][0])
        return _with([*self.counting, *steps], last)

    def scoring(self, source: str) -> list[tuple[str, exp.Select]]:
        """The steps from a table of counts named ``source`` to the scores (the last step)."""
        model = self.model
        metrics = model.metrics
        m = len(metrics)
        x = [_col(f"x{i}") for i in range(m)]
        weights = np.array([metric.weight for metric in metrics], dtype=float)
        names = [metric.name for metric in metrics]
        index = model.resolved_method == "index"
        steps: list[tuple[str, exp.Select]] = []
        # Every customer is one row of the counts: n, the customers, for the percentiles.
        n = _of_all(exp.Count(this=exp.Star()), source)
        if index:
            # The percentile metrics' ranks, each from its own sort of the IDs and that count
            # alone (a window carries every column of its rows through the sort), joined back.
            ranked = [i for i, metric in enumerate(metrics) if metric.effective_normalization == "percentile"]
            if ranked:
                orders = [part.as_(f"{name}{i}") for i in ranked for name, part in zip("ru", _from_the_top(x[i]))]
                steps.append(("orders", exp.select("customer_id", *orders).from_(source)))
            normalized = []
            for i, metric in enumerate(metrics):
                kind = metric.effective_normalization
                positive = _greatest([x[i], _double(0.0)])
                if kind == "cap":  # min(max(x, 0) / target, 1)
                    s = _least(positive / _double(metric.target), _double(1.0))
                elif kind == "log":  # min(ln(1 + max(x, 0)) / ln(1 + target), 1)
                    s = _least(exp.Ln(this=_double(1.0) + positive) / _double(np.log1p(metric.target)), _double(1.0))
                elif kind == "percentile":
                    s = _mid_percentile(_col(f"r{i}"), _col(f"u{i}"), n)
                else:
                    s = _minmax(x[i], source)
                if metric.direction == "lower":
                    s = _double(1.0) - s
                normalized.append(s.as_(f"s{i}"))
            customer = exp.column("customer_id", table=source).as_("customer_id")
            select = exp.select(customer, *normalized).from_(source)
            steps.append(("normalized", select.join(_joined(source, "orders")) if ranked else select))
            # The weight total as numpy adds it up (core.scoring.score_matrix): every customer has
            # every metric here, so it is one number.
            total_weight = float((np.ones((1, m)) * weights).sum(axis=1)[0])
            s = [_col(f"s{i}") for i in range(m)]
            points = [(_double(100.0) * s[i] * _double(weights[i]) / _double(total_weight)).as_(f"p{i}")
                      for i in range(m)]
            gaps = [((_double(1.0) - s[i]) * _double(100.0) * _double(weights[i]) / _double(total_weight)).as_(f"g{i}")
                    for i in range(m)]
            steps.append(("points", exp.select("customer_id", *points, *gaps).from_("normalized")))
        else:
            steps.append(("points", exp.select("customer_id", *[(x[i] * _double(weights[i])).as_(f"p{i}")
                                                                for i in range(m)]).from_(source)))
        p = [_col(f"p{i}") for i in range(m)]
        total = p[0]
        for term in p[1:]:
            total = total + term
        steps.append(("totals", exp.select("*", total.as_("total")).from_("points")))
        steps.append(("scored", exp.select("*", rounded(_col("total")).as_("score")).from_("totals")))

        score = _col("score")
        band = exp.case().when(score.is_(exp.null()), exp.Literal.string(NO_DATA))
        for b in model.bands[:-1]:
            band = band.when(score <= _double(b.upper), exp.Literal.string(b.label))
        band = band.else_(exp.Literal.string(model.bands[-1].label))
        rank, upto = _from_the_top(score)
        steps.append(("standing", exp.select("customer_id", rank.as_("rank"), upto.as_("upto")).from_("scored")))
        rank, upto = _col("rank"), _col("upto")
        columns = [exp.column("customer_id", table="scored").as_("customer_id"), score, band.as_("band"), rank,
                   _mid_percentile(rank, upto, n).as_("percentile"),
                   _argmax_label(p, names).as_("top_driver")]
        if index:
            columns.append(_argmax_label([_col(f"g{i}") for i in range(m)], names).as_("biggest_gap"))
        columns += [exp.alias_(p[i], exp.to_identifier(contribution_header(names[i]), quoted=True))
                    for i in range(m)]
        steps.append(("ranked", exp.select(*columns).from_("scored").join(_joined("scored", "standing"))))
        steps.append(("", exp.select("*").from_("ranked").order_by(
            exp.Ordered(this=_col("rank"), nulls_first=False),
            exp.Ordered(this=_col("customer_id"), nulls_first=False))))
        return steps

    def sql(self, dialect: str = "duckdb", pretty: bool = True) -> str:
        return self.select().sql(dialect=dialect, pretty=pretty)


def compile_model(model: Model, *, as_of: int | _dt.date | None = None, spellings: dict[str, int] | None = None,
                  prepared: bool = False) -> Query:
    """The model as a :class:`Query` over the table ``events`` (columns ``customer_id``,
    ``event``, ``date``, ``count``).

    ``as_of``: the day scored (a day number or a date); None: the latest event date.
    ``spellings``: each event name found in the data and its metric's position, matched by the
    contract's rule (:func:`~ces_xl.core.names.name_key`) by the caller that has read them; None
    matches in SQL, case-insensitively and without spaces (the rule for text that is not ASCII
    differs only in casing rules such as German sharp s).
    ``prepared``: ``events`` is the engine's own view, checked before the query runs: its
    ``date`` is a DATE, its ``count`` a DOUBLE that is 1 where the file's is blank, and a blank
    customer ID stops the run. Otherwise events without a customer ID are left out.
    """
    metrics = model.metrics
    date = _col("date") if prepared else exp.cast(_col("date"), exp.DataType.build("DATE"))
    if as_of is None:
        day = exp.Subquery(this=exp.select(exp.Max(this=date)).from_(EVENTS))
    else:
        when = as_of if isinstance(as_of, _dt.date) else date_of(int(as_of))
        day = exp.cast(exp.Literal.string(when.isoformat()), exp.DataType.build("DATE"))
    if spellings is None:
        key = exp.Lower(this=exp.Replace(this=_col("event"), expression=exp.Literal.string(" "),
                                         replacement=exp.Literal.string("")))
        which = {name_key(metric.name): i for i, metric in enumerate(metrics)}
    else:
        key, which = _col("event"), dict(spellings)
    if prepared and which:
        # DuckDB's own view: a name looked up in a list (list_position works on each distinct
        # name of a dictionary-encoded column) where a CASE compares every event's text: a
        # sixth of the time over 100 million events.
        metric = exp.Anonymous(this="list_extract", expressions=[
            exp.Array(expressions=[exp.Literal.number(i) for i in which.values()]),
            exp.Anonymous(this="list_position", expressions=[
                exp.Array(expressions=[exp.Literal.string(t) for t in which]), key])])
    elif which:
        metric = exp.case(key)
        for text, i in which.items():
            metric = metric.when(exp.Literal.string(text), exp.Literal.number(i))
    else:
        metric = exp.cast(exp.null(), exp.DataType.build("INT"))
    amount = _col("count") if prepared else exp.Coalesce(this=_as_double(_col("count")), expressions=[_double(1.0)])
    dated = exp.select(_col("customer_id"), metric.as_("metric"),
                       exp.DateDiff(this=day, expression=date, unit=exp.var("DAY")).as_("age"),
                       _as_double(amount).as_("amount")).from_(EVENTS)
    if not prepared:
        # An event without a customer ID belongs to no customer. The engine's own view stops on
        # one (a blank ID is an error, as in a workbook); SQL run elsewhere cannot, and leaves it out.
        dated = dated.where(exp.Not(this=_col("customer_id").is_(exp.null())))

    age = _col("age")
    value = _col("amount")
    if model.half_life is not None:  # count x 0.5 ** (age / half-life)
        value = value * exp.Pow(this=_double(0.5), expression=_as_double(age) / _double(model.half_life))
    if model.window is not None:
        value = exp.case().when(age < _double(model.window), value)
    valued = exp.select("customer_id", "metric", "age", "amount", value.as_("value")).from_("dated")
    # NULL for the other metrics' events (a sum skips them far faster than it adds zeros)
    sums = [exp.Sum(this=exp.case().when(_col("metric").eq(exp.Literal.number(i)), _col("value"))).as_(f"c{i}")
            for i in range(len(metrics))]
    keep = age >= exp.Literal.number(0)
    counted = exp.select("customer_id", *sums).from_("valued").where(keep).group_by("customer_id")
    # A customer without events of a metric counts 0.
    counts = exp.select(_col("customer_id"), *[rounded(exp.Coalesce(this=_col(f"c{i}"), expressions=[_double(0.0)]))
                                               .as_(f"x{i}") for i in range(len(metrics))]).from_("counted")
    return Query(counting=(("dated", dated), ("valued", valued), ("counted", counted), ("counts", counts)),
                 model=model)

