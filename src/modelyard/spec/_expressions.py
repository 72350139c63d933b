"""A small, safe expression language for cost amounts and segment filters.

Expressions are Python syntax restricted to arithmetic, comparisons and boolean logic over
column names, plus a few functions. They are parsed once with :mod:`ast`, checked against an
allow-list, and evaluated column-wise with numpy over a whole :class:`pandas.DataFrame`::

    >>> expr = parse_expression("12 * monthly_charges")
    >>> sorted(expr.names)
    ['monthly_charges']
    >>> import pandas as pd
    >>> expr.evaluate(pd.DataFrame({"monthly_charges": [10.0, 20.0]})).tolist()
    [120.0, 240.0]
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "parse_expression"]

#: Functions an expression may call, with the number of arguments each takes (None: two or more).
FUNCTIONS: dict[str, int | None] = {"abs": 1, "min": None, "max": None, "log": 1, "exp": 1, "where": 3}

_BINARY_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: lambda a, b: np.power(np.asarray(a, dtype=float), np.asarray(b, dtype=float)),
}
_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_OPERATOR_HINTS: dict[type[ast.AST], tuple[str, str | None]] = {
    ast.FloorDiv: ("//", "use '/'"),
    ast.BitAnd: ("&", "use 'and'"),
    ast.BitOr: ("|", "use 'or'"),
    ast.BitXor: ("^", "use '**' for powers"),
    ast.Invert: ("~", "use 'not'"),
    ast.LShift: ("<<", None),
    ast.RShift: (">>", None),
    ast.MatMult: ("@", None),
    ast.Is: ("is", "use '=='"),
    ast.IsNot: ("is not", "use '!='"),
}
_NODE_HINTS: dict[type[ast.AST], tuple[str, str | None]] = {
    ast.Attribute: ("attribute access", None),
    ast.Subscript: ("indexing", None),
    ast.Slice: ("slicing", None),
    ast.Lambda: ("a lambda", None),
    ast.IfExp: ("an if-else", "use where(condition, a, b)"),
    ast.ListComp: ("a comprehension", None),
    ast.SetComp: ("a comprehension", None),
    ast.DictComp: ("a comprehension", None),
    ast.GeneratorExp: ("a comprehension", None),
    ast.JoinedStr: ("an f-string", None),
    ast.NamedExpr: ("an assignment", None),
    ast.Dict: ("a dict", None),
    ast.Set: ("a set", "write the values as a list after 'in'"),
    ast.List: ("a list", "lists are only allowed after 'in', e.g. x in ['a', 'b']"),
    ast.Tuple: ("a tuple", "tuples are only allowed after 'in', e.g. x in ('a', 'b')"),
    ast.Starred: ("unpacking", None),
    ast.Await: ("await", None),
    ast.Yield: ("yield", None),
    ast.YieldFrom: ("yield", None),
}


class ExpressionError(ValueError):
    """An expression cannot be parsed, is not allowed, or cannot be evaluated on the data given."""


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. Build one with :func:`parse_expression`."""

    text: str
    names: frozenset[str] = field(compare=False)
    _tree: ast.Expression = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.text

    @property
    def is_constant(self) -> bool:
        """True when the expression uses no column."""
        return not self.names

    @property
    def is_condition(self) -> bool:
        """False when the expression is plainly arithmetic, so it cannot be a filter."""
        body = self._tree.body
        if isinstance(body, ast.BinOp):
            return False
        if isinstance(body, ast.UnaryOp):
            return isinstance(body.op, ast.Not)
        if isinstance(body, ast.Constant):
            return isinstance(body.value, bool)
        if isinstance(body, ast.Call):
            return isinstance(body.func, ast.Name) and body.func.id == "where"
        return True

    def evaluate(self, df: pd.DataFrame) -> np.ndarray:
        """Evaluate over every row of ``df`` at once; a constant is broadcast to ``len(df)``."""
        missing = sorted(self.names - set(map(str, df.columns)))
        if missing:
            present = ", ".join(map(str, df.columns)) or "(none)"
            which = ", ".join(repr(m) for m in missing)
            raise ExpressionError(
                f"expression {self.text!r} uses column {which}, which is not in the data; columns present: {present}"
            )
        columns = {name: _column_values(df[name]) for name in self.names}
        try:
            with np.errstate(all="ignore"):
                result = _Evaluator(columns).visit(self._tree.body)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"cannot evaluate expression {self.text!r}: {exc}") from exc
        result = np.asarray(result)
        if result.ndim == 0:
            return np.full(len(df), result.item())
        return result


def parse_expression(text: str) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` (a ValueError) naming the bad part."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    return _parse(text.strip())


@functools.lru_cache(maxsize=1024)
def _parse(source: str) -> Expression:
    if not source:
        raise ExpressionError("the expression is empty; write a number or a formula such as '12 * amount'")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"invalid expression {source!r}: {exc.msg}{where}") from None
    names: set[str] = set()
    _check(tree.body, source, names)
    return Expression(text=source, names=frozenset(names), _tree=tree)


def _segment(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or type(node).__name__


def _reject(source: str, node: ast.AST, what: str, hint: str | None = None) -> ExpressionError:
    message = f"{what} {_segment(source, node)!r} is not allowed in expression {source!r}"
    return ExpressionError(f"{message}; {hint}" if hint else message)


def _reject_operator(source: str, node: ast.AST, op: ast.AST) -> ExpressionError:
    symbol, hint = _OPERATOR_HINTS.get(type(op), (type(op).__name__, None))
    return _reject(source, node, f"the operator '{symbol}' in", hint)


def _check(node: ast.AST, source: str, names: set[str]) -> None:
    """Walk ``node``, collecting column names, raising on anything outside the allow-list."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str):
            return
        raise _reject(source, node, "the constant", "use a number, a string, True or False")
    if isinstance(node, ast.Name):
        if node.id.startswith("__"):
            raise _reject(source, node, "the dunder name")
        if node.id in FUNCTIONS:
            raise _reject(source, node, "the bare function name", f"call it, e.g. {node.id}(x)")
        names.add(node.id)
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY_OPS:
            raise _reject_operator(source, node, node.op)
        _check(node.left, source, names)
        _check(node.right, source, names)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            raise _reject_operator(source, node, node.op)
        _check(node.operand, source, names)
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, source, names)
        return
    if isinstance(node, ast.Compare):
        _check(node.left, source, names)
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                _literal_sequence(right, source)
            elif type(op) in _COMPARE_OPS:
                _check(right, source, names)
            else:
                raise _reject_operator(source, node, op)
        return
    if isinstance(node, ast.Call):
        _check_call(node, source, names)
        return
    what, hint = _NODE_HINTS.get(type(node), (type(node).__name__, None))
    raise _reject(source, node, what, hint)


def _check_call(node: ast.Call, source: str, names: set[str]) -> None:
    allowed = ", ".join(FUNCTIONS)
    if not isinstance(node.func, ast.Name):
        raise _reject(source, node, "the call", f"only {allowed} may be called")
    name = node.func.id
    if name not in FUNCTIONS:
        raise _reject(source, node, "the call", f"only {allowed} may be called")
    if node.keywords:
        raise _reject(source, node, "the keyword argument in", "pass arguments by position")
    arity = FUNCTIONS[name]
    count = len(node.args)
    if (arity is None and count < 2) or (arity is not None and count != arity):
        needs = "two or more arguments" if arity is None else f"{arity} argument{'s' * (arity > 1)}"
        raise ExpressionError(
            f"{name}() takes {needs}, got {count} in expression {source!r}: {_segment(source, node)!r}"
        )
    for arg in node.args:
        _check(arg, source, names)


def _literal_sequence(node: ast.AST, source: str) -> list[Any]:
    """The values of a literal list or tuple of constants, as used on the right of ``in``."""
    if not isinstance(node, ast.List | ast.Tuple):
        raise _reject(
            source,
            node,
            "'in' with the non-literal",
            "write the values as a literal list, e.g. x in ['a', 'b']",
        )
    values: list[Any] = []
    for element in node.elts:
        if isinstance(element, ast.Constant) and isinstance(element.value, bool | int | float | str):
            values.append(element.value)
        elif (
            isinstance(element, ast.UnaryOp)
            and isinstance(element.op, ast.USub)
            and isinstance(element.operand, ast.Constant)
            and isinstance(element.operand.value, int | float)
            and not isinstance(element.operand.value, bool)
        ):
            values.append(-element.operand.value)
        else:
            raise _reject(source, element, "the non-constant value", "list only numbers and strings after 'in'")
    return values


def _column_values(series: pd.Series) -> np.ndarray:
    """A column as a numpy array; nullable numbers become floats with NaN for missing values."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
        return series.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return series.to_numpy()
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return series.to_numpy()
    return series.to_numpy(dtype=object, na_value=None)


def _constant(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return np.float64(value)
    return np.asarray(value)[()]


class _Evaluator:
    """Evaluates a checked tree with numpy; every column is a whole array."""

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        self.columns = columns

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return _constant(node.value)
        if isinstance(node, ast.Name):
            return self.columns[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY_OPS[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return np.logical_not(operand)
            return np.negative(operand) if isinstance(node.op, ast.USub) else np.positive(operand)
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return functools.reduce(combine, (self.visit(v) for v in node.values))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise TypeError(f"unexpected node {type(node).__name__}")  # pragma: no cover - _check forbids it

    def _compare(self, node: ast.Compare) -> Any:
        result: Any = None
        left = self.visit(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                right = _literal_sequence(right_node, "")
                part = _isin(left, right)
                if isinstance(op, ast.NotIn):
                    part = np.logical_not(part)
            else:
                right = self.visit(right_node)
                part = _COMPARE_OPS[type(op)](left, right)
            result = part if result is None else np.logical_and(result, part)
            left = right
        return result

    def _call(self, node: ast.Call) -> Any:
        args = [self.visit(arg) for arg in node.args]
        name = cast(ast.Name, node.func).id  # _check allows only plain names
        if name == "abs":
            return np.abs(args[0])
        if name == "log":
            return np.log(np.asarray(args[0], dtype=float))
        if name == "exp":
            return np.exp(np.asarray(args[0], dtype=float))
        if name == "min":
            return functools.reduce(np.minimum, args)
        if name == "max":
            return functools.reduce(np.maximum, args)
        condition, if_true, if_false = args
        return np.where(np.asarray(condition, dtype=bool), if_true, if_false)


def _isin(values: Any, choices: list[Any]) -> Any:
    if isinstance(values, np.ndarray) and values.ndim > 0:
        return pd.Series(values).isin(choices).to_numpy()
    scalar = values.item() if isinstance(values, np.generic | np.ndarray) else values
    return np.bool_(scalar in choices)
