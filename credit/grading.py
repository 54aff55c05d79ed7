"""Credit grading from a versioned, published rule file; display and repair windows; inspection frequency.

The rule file (`credit/policy/grading-<version>.json`) is the whole policy: points per record type, the class
thresholds, overrides, how long each record type stays on public display, when it may be repaired, how often
each class is inspected and how the random draw weighs it. Every grade lists the records that moved it and by
how much, so an enterprise can check its grade by hand.

From grading-v2 the penalties are in the repair tiers of the 《信用修复管理办法》 (NDRC Order No. 36, in force
2026-04-01): a tiered record is displayed from its decision until its tier's maximum (then publication stops by
itself), may be repaired after its tier's minimum, and a minor one is in principle not published (`published`)
though it counts for the grade and departments see it while on display (`on_display`). A rule file without tiers
(grading-v1) keeps its `display_months` and `repair_after_months`.
"""

from __future__ import annotations

import calendar
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_utils import keccak

import errors
from qr.signed import canonical

POLICY_DIR = Path(__file__).parent / "policy"
CURRENT = "grading-v2"
CLASSES = ("A", "B", "C", "D")
RECORD_TYPES = (
    "commendation",
    "inspection_pass",
    "inspection_issues",
    "inspection_fail",
    "tax_arrears",
    "si_arrears",
    "penalty_minor",
    "penalty_general",
    "penalty_serious",
    "dishonest_debtor",
    "coercive_measure",
)
# Record types added after a rule file was published: that file (still read for the grades it made) gives them no
# points and no display, so it keeps its meaning.
ADDED_IN = {"coercive_measure": "grading-v2"}
TYPE_ZH = {
    "commendation": "表彰奖励",
    "inspection_pass": "检查合格",
    "inspection_issues": "检查发现问题",
    "inspection_fail": "检查不合格",
    "tax_arrears": "欠缴税款",
    "si_arrears": "欠缴社保费",
    "penalty_minor": "轻微行政处罚",
    "penalty_general": "一般行政处罚",
    "penalty_serious": "严重行政处罚",
    "dishonest_debtor": "失信被执行人",
    "coercive_measure": "行政强制措施",
}
# The same in English, for the pages (never the internal key on a page).
TYPE_EN = {
    "commendation": "Commendation",
    "inspection_pass": "Inspection passed",
    "inspection_issues": "Inspection found issues",
    "inspection_fail": "Inspection failed",
    "tax_arrears": "Tax arrears",
    "si_arrears": "Social-insurance arrears",
    "penalty_minor": "Minor administrative penalty",
    "penalty_general": "Administrative penalty",
    "penalty_serious": "Serious administrative penalty",
    "dishonest_debtor": "Dishonest judgment debtor",
    "coercive_measure": "Administrative coercive measure",
}
assert set(TYPE_ZH) == set(TYPE_EN) == set(RECORD_TYPES), "a record type without a label"


class PolicyError(errors.ConfigurationError, ValueError):
    """The rule file is missing or malformed."""


def _number(version: str) -> int:
    """A rule file version's number: grading-v2 -> 2."""
    try:
        return int(version.rsplit("-v", 1)[1])
    except (IndexError, ValueError) as exc:
        raise PolicyError(f"a rule file's version reads grading-v<number>, not {version!r}") from exc


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (2025-01-31 + 1 month = 2025-02-28)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Policy:
    version: str
    base: int
    points: dict[str, int]
    positive_cap: dict[str, int]
    classes: list[tuple[str, int]]
    display_months: dict[str, int | None]
    repair_after_months: dict[str, int]
    overrides: dict[str, str]
    inspection_every_months: dict[str, int]
    draw_weight: dict[str, int]
    # grading-v2 and later (absent from v1, which keeps these defaults):
    # 无事不扰: how many visits each class may have within `visit_window_months` (joint visits count once)
    visit_window_months: int = 12
    visits_allowed: dict[str, int] = field(default_factory=dict)
    # why a visit may take place outside the schedule (an inspection not yet due must give one)
    unscheduled_reasons: tuple[str, ...] = ()
    objection_answer_days: int = 0  # how long the department has to answer an objection (异议)
    scan_before_minutes: int = 0  # how long before a visit's start the entering scan may be
    # the repair tiers (NDRC Order No. 36): record type -> minor | general | serious, and per tier the minimum and
    # maximum display months, whether it is published at all, and the articles the rules come from
    tiers: dict[str, str] = field(default_factory=dict)
    tier_rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    legal_basis: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, doc: dict[str, Any]) -> Policy:
        try:
            policy = cls(
                doc["version"],
                int(doc["base"]),
                {k: int(v) for k, v in doc["points"].items()},
                {k: int(v) for k, v in doc.get("positive_cap", {}).items()},
                [(str(c), int(t)) for c, t in doc["classes"]],
                dict(doc["display_months"]),
                {k: int(v) for k, v in doc["repair_after_months"].items()},
                dict(doc["overrides"]),
                {k: int(v) for k, v in doc["inspection_every_months"].items()},
                {k: int(v) for k, v in doc["draw_weight"].items()},
                int(doc.get("visit_window_months", 12)),
                {k: int(v) for k, v in doc.get("visits_allowed", {}).items()},
                tuple(str(r) for r in doc.get("unscheduled_reasons", ())),
                int(doc.get("objection_answer_days", 0)),
                int(doc.get("scan_before_minutes", 0)),
                {k: str(v) for k, v in doc.get("tiers", {}).items()},
                {k: dict(v) for k, v in doc.get("tier_rules", {}).items()},
                {k: str(v) for k, v in doc.get("legal_basis", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"malformed rule file: {exc!r}") from exc
        later = {t for t in ADDED_IN if t not in policy.points and t not in policy.display_months}
        if not later <= {t for t, since in ADDED_IN.items() if _number(policy.version) < _number(since)}:
            raise PolicyError(f"the rule file must give points and display months for exactly {RECORD_TYPES}")
        for t in later:  # a type its version predates: no points, never displayed
            policy.points[t], policy.display_months[t] = 0, 0
        if set(policy.points) != set(RECORD_TYPES) or set(policy.display_months) != set(RECORD_TYPES):
            raise PolicyError(f"the rule file must give points and display months for exactly {RECORD_TYPES}")
        if [c for c, _ in policy.classes] != list(CLASSES) or [t for _, t in policy.classes] != sorted(
            (t for _, t in policy.classes), reverse=True
        ):
            raise PolicyError("classes must be A, B, C, D with falling thresholds")
        for table in (policy.inspection_every_months, policy.draw_weight):
            if set(table) != set(CLASSES) or min(table.values()) <= 0:
                raise PolicyError("inspection frequency and draw weights need a positive value per class")
        if policy.visits_allowed and (
            set(policy.visits_allowed) != set(CLASSES) or min(policy.visits_allowed.values()) <= 0
        ):
            raise PolicyError("visits_allowed needs a positive number of visits per class")
        if not set(policy.tiers.values()) <= set(policy.tier_rules) or not set(policy.tiers) <= set(RECORD_TYPES):
            raise PolicyError("every tiered record type must be a record type with a tier the rule file describes")
        for name, rule in policy.tier_rules.items():
            low, high, shown = rule.get("min_months"), rule.get("max_months"), rule.get("published", True)
            if type(low) is not int or type(high) is not int or not 0 <= low <= high or high <= 0:
                raise PolicyError(f"tier {name!r} needs whole min_months and max_months with 0 <= min <= max, max > 0")
            if not isinstance(shown, bool):
                raise PolicyError(f"tier {name!r}: published must be true or false")
        return policy

    def digest(self) -> str:
        return "0x" + keccak(canonical(asdict(self))).hex()


@lru_cache(maxsize=8)
def load_policy(version: str = CURRENT) -> Policy:
    path = POLICY_DIR / f"{version}.json"
    if not path.is_file() or "/" in version:
        raise PolicyError(f"no rule file {version!r}")
    try:
        return Policy.parse(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path.name} is not JSON: {exc}") from exc


@dataclass(frozen=True)
class Fact:
    """What grading needs to know of one credit record."""

    uid: str
    type: str
    decided_on: date
    repaired_on: date | None = None


def tier_rule(policy: Policy, type: str) -> dict[str, Any] | None:
    """The repair tier's rule of a record type (NDRC Order No. 36: minor, general, serious), None if untiered."""
    tier = policy.tiers.get(type)
    return None if tier is None else policy.tier_rules[tier]


def displayed_until(policy: Policy, fact: Fact) -> date | None:
    """The day the record leaves display (its last day is the day before; None: until removed by its authority).

    A tiered record (grading-v2) stops by itself at its tier's maximum, whatever `display_months` says."""
    rule = tier_rule(policy, fact.type)
    months = policy.display_months[fact.type] if rule is None else rule["max_months"]
    return None if months is None else add_months(fact.decided_on, months)


def on_display(policy: Policy, fact: Fact, on: date) -> bool:
    """Whether the record is in force on `on`: it counts for the grade and departments see it. A repaired record
    is withdrawn from sharing from its repair day on (终止公示、停止共享)."""
    end = displayed_until(policy, fact)
    repaired = fact.repaired_on is not None and fact.repaired_on <= on
    return fact.decided_on <= on and (end is None or on < end) and not repaired


def published(policy: Policy, fact: Fact, on: date) -> bool:
    """Whether the public sees the record on `on`: on display, and of a tier that is published at all (a minor
    record, 轻微失信信息, is in principle not published, though it counts for the grade while on display)."""
    rule = tier_rule(policy, fact.type)
    return on_display(policy, fact, on) and (rule is None or bool(rule.get("published", True)))


def repair_opens(policy: Policy, fact: Fact) -> date | None:
    """The first day a repair may be approved (a tiered record: after its tier's minimum display period), or None
    if the type cannot be repaired by the department."""
    rule = tier_rule(policy, fact.type)
    months = policy.repair_after_months.get(fact.type) if rule is None else rule["min_months"]
    return None if months is None else add_months(fact.decided_on, months)


@dataclass
class Grade:
    grade: str
    score: int
    rules_version: str
    explanation: list[dict[str, Any]] = field(default_factory=list)

    @property
    def basis(self) -> str:
        """The digest written on chain with the grade: the explanation and the rules version."""
        return (
            "0x"
            + keccak(
                canonical(
                    {
                        "rules": self.rules_version,
                        "explanation": self.explanation,
                        "grade": self.grade,
                        "score": self.score,
                    }
                )
            ).hex()
        )


def grade(
    facts: list[Fact], on: date, *, black_listed: bool = False, red_listed: bool = False, policy: Policy | None = None
) -> Grade:
    """The grade on `on`: deterministic and independent of the order of `facts`."""
    policy = policy or load_policy()
    score, lines = policy.base, []
    used: dict[str, int] = {}
    types = set()
    for fact in sorted(facts, key=lambda f: (f.decided_on, f.uid)):
        if fact.type not in policy.points or not on_display(policy, fact, on):
            continue
        types.add(fact.type)
        points = policy.points[fact.type]
        cap = policy.positive_cap.get(fact.type)
        if points > 0 and cap is not None:
            points = max(0, min(points, cap - used.get(fact.type, 0)))
            used[fact.type] = used.get(fact.type, 0) + points
        score += points
        lines.append(
            {
                "record": fact.uid,
                "type": fact.type,
                "points": points,
                "zh": f"{TYPE_ZH[fact.type]}（{fact.decided_on}）{points:+d} 分",
                "en": f"{fact.type.replace('_', ' ')} of {fact.decided_on}: {points:+d}",
            }
        )
    cls = next(c for c, threshold in policy.classes if score >= threshold)
    if red_listed and not black_listed and "dishonest_debtor" not in types:
        floor = policy.overrides.get("red_list_at_least")
        if floor and CLASSES.index(cls) > CLASSES.index(floor):
            cls = floor
            lines.append(
                {
                    "record": None,
                    "type": "red_list",
                    "points": 0,
                    "zh": f"列入红名单：至少 {floor} 级",
                    "en": f"on the red list: at least {floor}",
                }
            )
    for flag, active in (("dishonest_debtor", "dishonest_debtor" in types), ("black_list", black_listed)):
        forced = policy.overrides.get(flag)
        if active and forced and CLASSES.index(cls) < CLASSES.index(forced):
            cls = forced
            lines.append(
                {
                    "record": None,
                    "type": flag,
                    "points": 0,
                    "zh": f"{'失信被执行人' if flag == 'dishonest_debtor' else '列入黑名单'}：评为 {forced} 级",
                    "en": f"{flag.replace('_', ' ')}: graded {forced}",
                }
            )
    return Grade(cls, score, policy.version, lines)


def inspection_due(policy: Policy, cls: str, last: date | None, on: date) -> tuple[bool, date]:
    """Whether a routine inspection is due on `on` for class `cls`, and the date it is (or was) due."""
    due = on if last is None else add_months(last, policy.inspection_every_months[cls])
    return due <= on, due
