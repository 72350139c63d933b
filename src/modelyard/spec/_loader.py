"""Load use-case YAML files into :class:`UseCase` objects, reporting every problem with its line."""

from __future__ import annotations

import hashlib
import os
import re
import types
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .._exceptions import NotFoundError, SpecError
from ._checks import cross_check
from ._issues import Loc, Problem, Problems, SpecIssue, closest, format_key
from ._models import UseCase

__all__ = ["find_use_case", "load_use_case", "load_use_cases", "validate_file"]

PathLike = str | os.PathLike[str]
_SUFFIXES = (".yaml", ".yml")
_GATE_KINDS = ("metric", "beats_champion", "budget")
_NOUNS = {
    "type": "type",
    "metric": "metric",
    "op": "operator",
    "must": "guard direction",
    "budget": "budget name",
    "kind": "gate kind",
    "task": "task",
}
_EXPECTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
}
_SHAPE_FIXES = {
    "list_type": "write one '- ' item per line under the key",
    "model_type": "indent 'key: value' lines under the key",
    "model_attributes_type": "indent 'key: value' lines under the key",
    "dict_type": "indent 'key: value' lines under the key",
    "string_type": "quote it",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def load_use_case(path: PathLike) -> UseCase:
    """Load and validate one spec; raise SpecError carrying every issue found."""
    use_case, issues = _load(Path(path), str(path))
    if issues or use_case is None:
        raise _spec_error(issues)
    return use_case


def validate_file(path: PathLike) -> list[SpecIssue]:
    """Every issue in the spec at ``path``; an empty list when it is valid."""
    return _load(Path(path), str(path))[1]


def load_use_cases(folder: PathLike) -> dict[str, UseCase]:
    """Every spec in ``folder`` (``*.yaml``, ``*.yml``) by name; SpecError lists the issues of all files."""
    root = Path(folder)
    if not root.is_dir():
        raise NotFoundError(f"no use-case folder at {folder}; create it and add one <name>.yaml per use case")
    use_cases: dict[str, UseCase] = {}
    issues: list[SpecIssue] = []
    for path in _spec_files(root):
        display = str(Path(folder) / path.name)
        use_case, found = _load(path, display)
        issues.extend(found)
        if use_case is None:
            continue
        if use_case.name in use_cases:
            issues.append(
                SpecIssue(
                    display,
                    None,
                    "",
                    use_case.name,
                    f"use case {use_case.name!r} is defined twice",
                    f"remove one of {use_case.name}.yaml and {use_case.name}.yml",
                )
            )
        use_cases[use_case.name] = use_case
    if issues:
        raise _spec_error(issues)
    return use_cases


def _spec_error(issues: list[SpecIssue]) -> SpecError:
    return SpecError("\n".join(str(issue) for issue in issues), list[object](issues))


def find_use_case(folder: PathLike, name: str) -> Path:
    """The spec file of use case ``name`` in ``folder``; raise NotFoundError listing those available."""
    root = Path(folder)
    for suffix in _SUFFIXES:
        candidate = root / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    available = sorted({p.stem for p in _spec_files(root)}) if root.is_dir() else []
    guess = closest(name, available)
    hint = f"did you mean {guess!r}? " if guess else ""
    listing = ", ".join(available) or "(none)"
    raise NotFoundError(f"no use case {name!r} in {folder}; {hint}available: {listing}")


def _spec_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.suffix in _SUFFIXES and p.is_file())


# --- reading ---


def _load(path: Path, display: str) -> tuple[UseCase | None, list[SpecIssue]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [SpecIssue(display, None, "", None, "no such file", "check the path")]
    except IsADirectoryError:
        return None, [SpecIssue(display, None, "", None, "is a folder, not a file", "give the path of a .yaml file")]
    except OSError as exc:
        return None, [SpecIssue(display, None, "", None, f"cannot read the file: {exc.strerror or exc}", None)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [SpecIssue(display, line, "", None, "the file is not UTF-8 text", "save it as UTF-8")]
    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        return None, [_yaml_issue(display, exc)]
    except YAMLError as exc:
        return None, [SpecIssue(display, None, "", None, f"invalid YAML: {exc}", None)]
    if root is None:
        return None, [
            SpecIssue(
                display,
                1,
                "",
                None,
                "the file is empty",
                "start with 'name:', 'task:', 'inputs:', 'costs:' and 'data:'",
            )
        ]
    if not isinstance(root, CommentedMap):
        return None, [
            SpecIssue(
                display,
                1,
                "",
                None,
                f"the top level must be a mapping of keys, not {_kind(root)}",
                "start with 'name:', 'task:', 'inputs:', 'costs:' and 'data:'",
            )
        ]
    try:
        data = _plain(root, [_MAX_VALUES])
    except _TooBig:
        return None, [
            SpecIssue(
                display,
                None,
                "",
                None,
                f"the file expands to more than {_MAX_VALUES:,} values (anchors repeated through '*' aliases)",
                "write the spec out plainly; a use case takes a few hundred values",
            )
        ]
    issues: list[SpecIssue] = []
    use_case: UseCase | None = None
    try:
        use_case = UseCase.model_validate(data, context={"skip_cross_checks": True})
    except ValidationError as exc:
        for error in exc.errors():
            issues.extend(_error_issues(display, root, error))
    for problem in cross_check(data):
        issues.append(_problem_issue(display, root, (), problem))
    name = data.get("name")
    if isinstance(name, str) and name != path.stem:
        issues.append(
            _issue(
                display,
                root,
                ("name",),
                name,
                f"name {name!r} does not match the file name {path.name!r}",
                f"set 'name: {path.stem}' or rename the file to {name}{path.suffix}",
            )
        )
    issues = _unique_sorted(issues)
    if issues or use_case is None:
        return None, issues
    use_case._set_source(path, hashlib.sha256(raw).hexdigest())
    return use_case, []


def _yaml_issue(display: str, exc: MarkedYAMLError) -> SpecIssue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or "invalid YAML"
    if "duplicate key" in problem:
        return SpecIssue(display, line, "", None, problem.replace("found ", "", 1), "remove one of the two")
    message = f"invalid YAML: {problem}" + (f" ({exc.context})" if exc.context else "")
    if "'\\t'" in problem:
        fix = "indent with spaces, not tabs"
    elif mark is not None:
        fix = f"check the YAML syntax near line {mark.line + 1}, column {mark.column + 1}"
    else:
        fix = None
    return SpecIssue(display, line, "", None, message, fix)


_MAX_VALUES = 100_000
"""Most values a spec may expand to: aliases copy what their anchor holds, so a few lines that
nest them (a "billion laughs") would expand to more than memory and time allow."""


class _TooBig(Exception):
    """The spec expands to more than :data:`_MAX_VALUES` values."""


def _plain(node: Any, budget: list[int]) -> Any:
    """ruamel's round-trip objects as plain Python types (dict, list, str, int, float, bool, date);
    ``budget`` holds how many more values may be made (raises :class:`_TooBig` past it)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    if isinstance(node, Mapping):
        return {_plain(key, budget): _plain(value, budget) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value, budget) for value in node]
    if type(node).__name__ == "ScalarBoolean" or isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, datetime):
        return datetime.fromisoformat(node.isoformat())
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    return node


# --- locating ---


def _locate(root: CommentedMap, loc: Loc) -> tuple[int, Loc]:
    """The 1-based line of ``loc`` in the YAML tree (the nearest parent for a missing key), and the
    path with pydantic's union-member tags removed."""
    node: Any = root
    line = root.lc.line + 1 if root.lc.line is not None else 1
    path: list[str | int] = []
    for part in loc:
        if node is None:
            path.append(part)
        elif isinstance(node, CommentedMap) and isinstance(part, str):
            if part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            else:
                node = None
            path.append(part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
            path.append(part)
        # anything else is the name of a union member, which is not part of the YAML
    return line, tuple(path)


def _issue(display: str, root: CommentedMap, loc: Loc, value: Any, message: str, fix: str | None) -> SpecIssue:
    line, path = _locate(root, loc)
    return SpecIssue(display, line, format_key(path), value, message, fix)


def _problem_issue(display: str, root: CommentedMap, base: Loc, problem: Problem) -> SpecIssue:
    return _issue(display, root, base + problem.loc, problem.value, problem.message, problem.fix)


def _unique_sorted(issues: list[SpecIssue]) -> list[SpecIssue]:
    """Drop repeats and merge the one-per-union-member type errors of a value into one issue."""
    unique: dict[tuple[int | None, str, str], SpecIssue] = {}
    expected: dict[tuple[int | None, str], tuple[str, str]] = {}
    for issue in issues:
        match = re.fullmatch(r"expected (.+), got (.+)", issue.message)
        spot = (issue.line, issue.key)
        if match and spot in expected:
            marker = (issue.line, issue.key, expected[spot][0])
            old = unique.pop(marker)
            merged = f"expected {expected[spot][1]} or {match[1]}, got {match[2]}"
            expected[spot] = (merged, f"{expected[spot][1]} or {match[1]}")
            unique[(issue.line, issue.key, merged)] = replace(old, message=merged, fix=None)
            continue
        if match:
            expected[spot] = (issue.message, match[1])
        unique.setdefault((issue.line, issue.key, issue.message), issue)
    return sorted(unique.values(), key=lambda issue: issue.line or 0)


# --- turning pydantic's errors into issues ---


def _error_issues(display: str, root: CommentedMap, error: ErrorDetails) -> list[SpecIssue]:
    loc: Loc = tuple(error["loc"])
    model_loc = loc
    if len(loc) >= 3 and loc[0] == "gates" and isinstance(loc[1], int) and loc[2] in _GATE_KINDS:
        loc = loc[:2] + loc[3:]  # drop the discriminator tag pydantic inserts
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    cause = ctx.get("error")
    if isinstance(cause, Problems):
        return [_problem_issue(display, root, loc, problem) for problem in cause.problems]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _field_names(model_loc[:-1])
        guess = closest(key, allowed)
        fix = f"did you mean {guess!r}?" if guess else f"remove it; allowed keys: {', '.join(allowed)}"
        return [_issue(display, root, loc, key, f"unknown key {key!r}", fix)]
    if kind == "missing":
        key = str(loc[-1])
        help_text = _field_help(model_loc)
        fix = f"add '{key}:'" + (f" ({help_text})" if help_text else "")
        return [_issue(display, root, loc, None, f"missing required key {key!r}", fix)]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = ", ".join(_GATE_KINDS)
        if kind == "union_tag_not_found":
            return [
                _issue(
                    display,
                    root,
                    (*loc, "kind"),
                    None,
                    "missing required key 'kind'",
                    f"add 'kind:' one of {kinds}",
                )
            ]
        return [
            _issue(
                display,
                root,
                (*loc, "kind"),
                ctx.get("tag"),
                f"{ctx.get('tag')!r} is not a valid gate kind",
                f"use one of {kinds}",
            )
        ]
    message, advice = _rewrite(kind, error["msg"], ctx, loc, value)
    return [_issue(display, root, loc, value, message, advice)]


def _rewrite(kind: str, msg: str, ctx: dict[str, Any], loc: Loc, value: Any) -> tuple[str, str | None]:
    """pydantic's wording rewritten as ``(message, fix)``."""
    last = str(loc[-1]) if loc and isinstance(loc[-1], str) else ""
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        noun = _NOUNS.get(last, f"value for '{last}'" if last else "value")
        return f"{_show(value)} is not a valid {noun}", f"use one of {', '.join(allowed)}"
    if kind == "value_error":
        cause = ctx.get("error")
        return (str(cause) if cause is not None else msg.removeprefix("Value error, ")), None
    if kind in _EXPECTED:
        got = "nothing" if value is None else f"{_kind(value)} {_show(value)}"
        return f"expected {_EXPECTED[kind]}, got {got}", _SHAPE_FIXES.get(kind)
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"{_show(value)} is out of range", f"must be {words} {limit}"
    if kind == "string_pattern_mismatch":
        if last == "features":
            return (
                f"{_show(value)} is not an import path",
                "write 'module:function', e.g. 'mypkg.features:build'",
            )
        return (
            f"{_show(value)} is not a valid name",
            "use lowercase letters, digits, '_' and '-', starting with a letter",
        )
    if kind == "string_too_short":
        return "must not be empty", None
    if kind == "too_short":
        return "must not be empty", f"list at least {ctx.get('min_length', 1)} item"
    text = msg.replace("Input should be", "must be")
    return f"{_show(value)}: {text}", None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


# --- which model a pydantic loc points into (for "allowed keys" and field help) ---


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    current: Any = UseCase
    for part in loc:
        current = _unwrap(current)
        if get_origin(current) in (Union, types.UnionType):
            tagged = [m for m in get_args(current) if _gate_tag(m) == part]
            if not tagged:
                return None
            current = tagged[0]
        elif isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _gate_tag(model: Any) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel) and "kind" in model.model_fields:
        args = get_args(model.model_fields["kind"].annotation)
        return str(args[0]) if args else None
    return None


def _field_names(loc: Loc) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _field_help(loc: Loc) -> str | None:
    model = _model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str) or loc[-1] not in model.model_fields:
        return None
    text = model.model_fields[loc[-1]].description
    return text[0].lower() + text[1:].rstrip(".") if text else None
