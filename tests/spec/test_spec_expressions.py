"""The expression language: what it allows, what it rejects, and that it evaluates column-wise."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.spec import Expression, ExpressionError, parse_expression


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [10.0, 20.0, np.nan, 40.0],
            "tenure": [1, 12, 24, 60],
            "contract": pd.Series(["Month-to-month", "One year", "Two year", None], dtype="object"),
            "flag": [True, False, True, False],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 * amount", [120.0, 240.0, np.nan, 480.0]),
        ("50 + 0.3 * 12 * amount", [86.0, 122.0, np.nan, 194.0]),
        ("tenure % 12", [1, 0, 0, 0]),
        ("tenure ** 2", [1.0, 144.0, 576.0, 3600.0]),
        ("-tenure", [-1, -12, -24, -60]),
        ("tenure / 2", [0.5, 6.0, 12.0, 30.0]),
        ("contract != 'Month-to-month'", [False, True, True, True]),
        ("contract in ['One year', 'Two year']", [False, True, True, False]),
        ("contract not in ('One year',)", [True, False, True, True]),
        ("12 <= tenure < 60", [False, True, True, False]),
        ("tenure > 10 and flag", [False, False, True, False]),
        ("tenure > 30 or flag", [True, False, True, True]),
        ("not flag", [False, True, False, True]),
        ("where(tenure > 12, 1, 0)", [0, 0, 1, 1]),
        ("abs(10 - tenure)", [9, 2, 14, 50]),
        ("min(tenure, 20)", [1, 12, 20, 20]),
        ("max(tenure, 20, 30)", [30, 30, 30, 60]),
        ("log(exp(tenure))", [1.0, 12.0, 24.0, 60.0]),
        ("(tenure + 1) * 2", [4, 26, 50, 122]),
        ("tenure in [-1, 12]", [False, True, False, False]),
    ],
)
def test_evaluates_over_the_whole_frame(frame: pd.DataFrame, text: str, expected: list[object]) -> None:
    result = parse_expression(text).evaluate(frame)
    assert isinstance(result, np.ndarray)
    np.testing.assert_allclose(result.astype(float), np.asarray(expected, dtype=float))


@pytest.mark.parametrize("text", ["50", "2 * 25", "min(60, 50)", "100 / 2"])
def test_a_constant_broadcasts_to_every_row(frame: pd.DataFrame, text: str) -> None:
    result = parse_expression(text).evaluate(frame)
    assert result.shape == (len(frame),)
    np.testing.assert_allclose(result, 50.0)


def test_a_constant_on_an_empty_frame_is_empty() -> None:
    assert parse_expression("50").evaluate(pd.DataFrame({"a": []})).shape == (0,)


def test_division_by_zero_gives_inf_without_warning(frame: pd.DataFrame) -> None:
    assert np.isinf(parse_expression("amount / 0").evaluate(frame)[0])
    assert np.isinf(parse_expression("1 / 0").evaluate(frame)).all()


def test_evaluation_is_vectorised_not_row_by_row() -> None:
    frame = pd.DataFrame({"amount": np.arange(200_000, dtype=float)})
    result = parse_expression("where(amount > 10, 12 * amount, 0)").evaluate(frame)
    assert result[11] == 132.0 and result[5] == 0.0


def test_nullable_extension_columns_become_nan() -> None:
    frame = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})
    result = parse_expression("n * 2").evaluate(frame)
    assert result[0] == 2.0 and math.isnan(result[1])


def test_categorical_columns_compare_as_values() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])})
    assert parse_expression("c == 'a'").evaluate(frame).tolist() == [True, False, True]


def test_names_are_the_columns_used() -> None:
    assert parse_expression("where(a > 1, b, 12 * c) + min(a, 2)").names == frozenset({"a", "b", "c"})
    assert parse_expression("abs(-3)").names == frozenset()
    assert parse_expression("3").is_constant


def test_missing_column_is_named_with_the_columns_present(frame: pd.DataFrame) -> None:
    with pytest.raises(
        ExpressionError,
        match=r"^expression '12 \* charges' uses column 'charges', which is not in the data; "
        r"columns present: amount, tenure, contract, flag$",
    ):
        parse_expression("12 * charges").evaluate(frame)


def test_type_errors_at_evaluation_name_the_expression(frame: pd.DataFrame) -> None:
    with pytest.raises(ExpressionError, match=r"cannot evaluate expression 'contract - 1'"):
        parse_expression("contract - 1").evaluate(frame)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("df.amount", r"attribute access 'df.amount' is not allowed"),
        ("amount.__class__", r"attribute access"),
        ("open('x')", r"the call \"open\('x'\)\" is not allowed .*; only abs, min, max, log, exp, where"),
        ("os.system('ls')", r"the call"),
        ("abs(x)(1)", r"the call"),
        ("amount[0]", r"indexing 'amount\[0\]' is not allowed"),
        ("lambda: 1", r"a lambda 'lambda: 1' is not allowed"),
        ("__import__", r"the dunder name '__import__' is not allowed"),
        ("a if b else c", r"an if-else .*; use where\(condition, a, b\)"),
        ("a & b", r"the operator '&' in 'a & b' is not allowed .*; use 'and'"),
        ("a | b", r"the operator '\|'"),
        ("~a", r"the operator '~'"),
        ("a // 2", r"the operator '//' .*; use '/'"),
        ("a is None", r"the operator 'is'"),
        ("a in b", r"'in' with the non-literal 'b'"),
        ("a in [b]", r"the non-constant value 'b'"),
        ("[x for x in a]", r"a comprehension"),
        ("f'{a}'", r"an f-string"),
        ("(a := 1)", r"an assignment"),
        ("{'a': 1}", r"a dict"),
        ("[1, 2]", r"a list '\[1, 2\]' is not allowed"),
        ("None", r"the constant 'None'"),
        ("abs", r"the bare function name 'abs'"),
        ("abs(a=1)", r"the keyword argument"),
        ("abs(*a)", r"unpacking"),
        ("min(a)", r"^min\(\) takes two or more arguments, got 1"),
        ("where(a, b)", r"^where\(\) takes 3 arguments, got 2"),
        ("a +", r"^invalid expression 'a \+'"),
        ("", r"^the expression is empty"),
        ("   ", r"^the expression is empty"),
    ],
)
def test_forbidden_constructs_are_rejected_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


def test_parse_errors_are_value_errors() -> None:
    assert issubclass(ExpressionError, ValueError)
    with pytest.raises(ValueError):
        parse_expression(3)  # type: ignore[arg-type]


def test_expressions_compare_by_text_and_strip_whitespace() -> None:
    assert parse_expression(" a + 1 ") == parse_expression("a + 1")
    assert str(parse_expression(" a + 1 ")) == "a + 1"
    assert isinstance(parse_expression("a"), Expression)


@pytest.mark.parametrize(
    ("text", "is_condition"),
    [
        ("a > 1", True),
        ("a", True),
        ("not a", True),
        ("a and b", True),
        ("a + 1", False),
        ("-a", False),
        ("3", False),
        ("True", True),
        ("abs(a)", False),
        ("where(a, b, c)", True),
    ],
)
def test_is_condition_rejects_plain_arithmetic(text: str, is_condition: bool) -> None:
    assert parse_expression(text).is_condition is is_condition


# --- property: arithmetic agrees with Python on random numbers ---

_numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def _arithmetic(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", "y", "z", "2", "0.5", "3"]))
    op = draw(st.sampled_from(["+", "-", "*"]))
    left, right = draw(_arithmetic(depth - 1)), draw(_arithmetic(depth - 1))
    return f"({left} {op} {right})" if draw(st.booleans()) else f"-{left} {op} {right}"


@given(text=_arithmetic(), x=_numbers, y=_numbers, z=_numbers)
def test_arithmetic_agrees_with_python_eval(text: str, x: float, y: float, z: float) -> None:
    expected = eval(text, {"__builtins__": {}}, {"x": x, "y": y, "z": z})
    frame = pd.DataFrame({"x": [x, x], "y": [y, y], "z": [z, z]})
    result = parse_expression(text).evaluate(frame)
    np.testing.assert_allclose(result, [expected, expected], rtol=1e-12, atol=1e-12)


@given(x=_numbers, y=_numbers.filter(lambda v: v != 0))
def test_division_and_comparison_agree_with_python(x: float, y: float) -> None:
    frame = pd.DataFrame({"x": [x], "y": [y]})
    assert parse_expression("x / y").evaluate(frame)[0] == x / y
    assert parse_expression("x % y").evaluate(frame)[0] == pytest.approx(x % y)
    assert bool(parse_expression("x < y <= 2 * y").evaluate(frame)[0]) is (x < y <= 2 * y)
