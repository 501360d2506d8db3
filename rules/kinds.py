"""The registry of rule kinds: the key a rule file uses -> the class that compiles it.

A new kind is one module with a Rule subclass (KIND, PLACEHOLDERS, DEFAULT_MESSAGE,
DEFAULT_REPEAT, parse_spec, check, fields) added here; files written for older kinds still load.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from rules.base import Rule
from rules.fill import FillRule
from rules.price import PriceRule

KINDS: Mapping[str, type[Rule]] = MappingProxyType({cls.KIND: cls for cls in (PriceRule, FillRule)})
