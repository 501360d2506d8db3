"""Templates: every str.format trick is refused when the rules load; rendering is plain."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.fill import FillRule
from rules.load import load_rules
from rules.price import PriceRule
from rules.template import Template, TemplateError
from watcher.errors import ConfigError

ATTACKS = [
    ("{market.__class__}", "placeholder {market.__class__}: attribute access is not allowed"),
    ("{a.b}", "placeholder {a.b}: attribute access is not allowed"),
    ("{market[0]}", "placeholder {market[0]}: indexing is not allowed"),
    ("{market!r}", "placeholder {market!r}: conversions are not allowed"),
    ("{market:>10}", "placeholder {market:>10}: format specs are not allowed"),
    ("{price:.2f}", "placeholder {price:.2f}: format specs are not allowed"),
    ("{nope}", "unknown placeholder {nope}; allowed: ask, bid, level,"),
    ("{0}", "unknown placeholder {0}"),
    ("{ market }", "unknown placeholder { market }"),
    ("{}", "empty placeholder {}"),
    ("{market", "unclosed '{' at column 1"),
    ("at {price} }", "single '}' at column 12"),
    ("{{market}", "single '}' at column 9"),
    ("{mar{ket}", "nested '{' in placeholder {mar{ket}"),
]


@pytest.mark.parametrize(("text", "expected"), ATTACKS)
def test_attack_is_refused_by_template(text: str, expected: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template(text, PriceRule.PLACEHOLDERS)
    assert expected in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), ATTACKS)
def test_attack_is_refused_at_load_with_its_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "rules.yaml"
    quoted = text.replace("'", "''")
    path.write_text(
        "channels:\n  desk: json://127.0.0.1:1/x\nrules:\n  - name: r\n"
        f"    price: {{market: BTC-USDT, above: 1}}\n    notify: desk\n    message: '{quoted}'\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_rules([path], env={})
    [error] = caught.value.errors
    assert error.startswith(f"{path}:7: message: ")
    assert expected in error


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("{market} {op} {level}", {"market": "BTC", "op": "above", "level": "1"}, "BTC above 1"),
        ("{{market}} is {market}", {"market": "BTC"}, "{market} is BTC"),
        ("}}{{", {}, "}{"),
        ("{price}{price}", {"price": "0.1"}, "0.10.1"),
        # A value is never read as a template: braces in it stay as they are.
        ("{market}", {"market": "{price} {{x}}"}, "{price} {{x}}"),
        ("no placeholders", {}, "no placeholders"),
        ("", {}, ""),
    ],
)
def test_render_substitutes_exactly(text: str, values: dict[str, str], expected: str) -> None:
    template = Template(text, PriceRule.PLACEHOLDERS)
    assert template.render(values) == expected
    assert template.names == {name for name in values if "{" + name + "}" in text}


def test_placeholders_of_one_kind_are_refused_in_another() -> None:
    with pytest.raises(TemplateError, match=r"unknown placeholder \{level\}"):
        Template("{level}", FillRule.PLACEHOLDERS)
    with pytest.raises(TemplateError, match=r"unknown placeholder \{trade_id\}"):
        Template("{trade_id}", PriceRule.PLACEHOLDERS)


def test_render_without_a_value_names_it() -> None:
    with pytest.raises(KeyError, match="price"):
        Template("{price}", PriceRule.PLACEHOLDERS).render({})
