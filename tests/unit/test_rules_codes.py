"""Error codes are stable: pinned here, since editors, CI annotations and scripts match on them."""

from __future__ import annotations

from rules.codes import BAD_MARKET, CODES, Problem

# Number -> name, as released. Add new codes; never renumber or rename one.
PINNED = {
    "KX001": "unreadable",
    "KX002": "not-utf8",
    "KX003": "yaml-syntax",
    "KX004": "empty-file",
    "KX005": "bad-version",
    "KX101": "unknown-key",
    "KX102": "missing-key",
    "KX103": "duplicate-key",
    "KX104": "wrong-type",
    "KX105": "merge-key",
    "KX106": "one-of",
    "KX107": "empty-list",
    "KX108": "listed-twice",
    "KX200": "bad-value",
    "KX201": "bad-format",
    "KX202": "not-a-choice",
    "KX203": "bad-number",
    "KX204": "out-of-range",
    "KX205": "bad-duration",
    "KX206": "bad-market",
    "KX207": "no-venue",
    "KX208": "bad-rate",
    "KX209": "bad-source",
    "KX210": "no-position",
    "KX301": "unknown-channel",
    "KX302": "duplicate-name",
    "KX303": "self-reference",
    "KX401": "bad-template",
    "KX402": "empty-message",
    "KX403": "bad-repeat",
    "KX404": "bad-option",
    "KX501": "env-variable",
    "KX502": "bad-url",
    "KX601": "table-header",
    "KX602": "table-row",
    "KX603": "csv-syntax",
    "KX604": "table-outside",
    "KX699": "more-errors",
    "KX901": "bad-settings",
}


def test_codes_are_pinned_and_distinct() -> None:
    assert {code.number: code.name for code in CODES} == PINNED
    assert len({code.name for code in CODES}) == len(CODES)
    assert all(code.meaning for code in CODES)


def test_a_problem_prints_as_text_and_as_json() -> None:
    problem = Problem("r.yaml", 5, 21, BAD_MARKET, "price.market: 'btc-usdt' is not ...")
    assert problem.text() == "r.yaml:5: price.market: 'btc-usdt' is not ..."
    assert problem.as_json() == {
        "file": "r.yaml",
        "line": 5,
        "column": 21,
        "code": "KX206",
        "name": "bad-market",
        "message": "price.market: 'btc-usdt' is not ...",
    }
    more = Problem("t.csv", None, None, BAD_MARKET, "... and 3 more")
    assert more.text() == "t.csv: ... and 3 more"
