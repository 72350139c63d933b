"""Loading specs: valid files load; every kind of mistake is reported with its line, key and fix."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard._exceptions import NotFoundError, SpecError, UsageError
from modelyard.spec import SpecIssue, UseCase, find_use_case, load_use_case, load_use_cases, validate_file

SpecWriter = Callable[..., Path]


def only_issue(path: Path) -> SpecIssue:
    issues = validate_file(path)
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


# --- valid files ---


def test_the_demo_spec_is_valid(demo_spec: Path) -> None:
    assert validate_file(demo_spec) == []
    use_case = load_use_case(demo_spec)
    assert use_case.name == "churn"
    assert use_case.sha256 == hashlib.sha256(demo_spec.read_bytes()).hexdigest()
    assert use_case.source_path == demo_spec
    assert use_case.data.features == "modelyard.demo.features:churn_features"
    assert [gate.kind for gate in use_case.gates] == ["metric", "beats_champion", "budget"]
    assert use_case.feature("contract").categories == ["Month-to-month", "One year", "Two year"]


def test_the_minimal_spec_is_valid_and_fills_defaults(write_spec: SpecWriter) -> None:
    use_case = load_use_case(str(write_spec()))
    assert isinstance(use_case, UseCase)
    assert use_case.output_names == ("score", "label")
    assert use_case.positive_label is True
    assert use_case.costs.true_positive == 0.0
    assert use_case.description == ""


def test_dates_and_quoted_values_load(write_spec: SpecWriter) -> None:
    path = write_spec(
        replace=(
            (
                "  - name: monthly_charges\n",
                "  - name: signup\n    type: datetime\n    min: 2015-01-01\n"
                "    max: '2030-01-01'\n  - name: monthly_charges\n",
            ),
            ("task: binary_classification\n", 'task: binary_classification\npositive_label: "Yes"\n'),
        )
    )
    use_case = load_use_case(path)
    assert str(use_case.feature("signup").min) == "2015-01-01"
    assert use_case.positive_label == "Yes"


# --- one issue of each kind, located ---


def test_wrong_enum_value_pinned_text(write_spec: SpecWriter) -> None:
    path = write_spec(replace=(("    type: float", "    type: flaot"),))
    issue = only_issue(path)
    assert str(issue) == (
        f"{path}:11: inputs[2].type: 'flaot' is not a valid type; "
        "use one of int, float, bool, category, string, datetime"
    )
    assert (issue.file, issue.line, issue.key, issue.value) == (str(path), 11, "inputs[2].type", "flaot")


def test_unknown_key_suggests_the_closest(write_spec: SpecWriter) -> None:
    path = write_spec(replace=(("    categories: [", "    catgories: ["),))
    with pytest.raises(
        SpecError,
        match=r"churn\.yaml:9: inputs\[1\]\.catgories: unknown key 'catgories'; did you mean 'categories'\?$",
    ):
        load_use_case(path)


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("budgets:\n", "colour: red\nbudgets:\n"),)))
    assert (issue.line, issue.key, issue.value) == (12, "colour", "colour")
    assert issue.fix is not None and issue.fix.startswith("remove it; allowed keys: name, description, task")


def test_missing_key_points_at_the_parent(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("    type: int\n", ""),)))
    assert (issue.line, issue.key, issue.value) == (4, "inputs[0].type", None)
    assert issue.message == "missing required key 'type'"
    assert issue.fix == "add 'type:' (the column's type: int, float, bool, category, string or datetime)"


def test_missing_top_level_section(write_spec: SpecWriter, minimal_spec: str) -> None:
    text = minimal_spec[: minimal_spec.index("data:")]
    issue = only_issue(write_spec(text))
    assert (issue.line, issue.key, issue.message) == (1, "data", "missing required key 'data'")


def test_category_without_categories(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("    categories: [Month-to-month, One year]\n", ""),)))
    assert (issue.line, issue.key) == (7, "inputs[1].categories")
    assert issue.message == "missing required key 'categories' for a category column"


def test_categories_on_a_non_category_type(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("    min: 0\n", "    min: 0\n    categories: [a]\n"),)))
    assert (issue.line, issue.key, issue.value) == (7, "inputs[0].categories", ["a"])
    assert str(issue).endswith(
        "categories are only allowed for type 'category', not 'int'; remove 'categories' or set 'type: category'"
    )


def test_min_greater_than_max(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("    min: 0\n", "    min: 10\n    max: 5\n"),)))
    assert (issue.line, issue.key, issue.value) == (6, "inputs[0].min", 10)
    assert issue.message == "min 10 is greater than max 5"


@pytest.mark.parametrize(
    ("replacement", "key", "message"),
    [
        (
            "    type: string\n    min: 0\n",
            "inputs[0].min",
            "'min' is only allowed for int, float and datetime",
        ),
        ("    type: datetime\n    min: 0\n", "inputs[0].min", "0 is not a date"),
        ("    type: int\n    min: 2020-01-01\n", "inputs[0].min", "2020-01-01 is not a number"),
        ("    type: int\n    min: soon\n", "inputs[0].min", "must be a number or a date such as 2020-01-31"),
        ("    type: int\n    min: 0\n    nullable: maybe\n", "inputs[0].nullable", "expected true or false"),
    ],
)
def test_bad_ranges_and_types(write_spec: SpecWriter, replacement: str, key: str, message: str) -> None:
    issue = only_issue(write_spec(replace=(("    type: int\n    min: 0\n", replacement),)))
    assert issue.key == key
    assert issue.message.startswith(message), issue.message


def test_duplicate_input_names(write_spec: SpecWriter) -> None:
    issue = only_issue(
        write_spec(
            replace=(
                ("  - name: monthly_charges\n    type: float", "  - name: tenure\n    type: int"),
                ("12 * monthly_charges", "12"),
            )
        )
    )
    assert (issue.line, issue.key, issue.value) == (10, "inputs[2].name", "tenure")
    assert issue.message == "input name 'tenure' is already used by inputs[0]"


def test_name_must_equal_the_file_stem(write_spec: SpecWriter) -> None:
    path = write_spec(name="attrition")
    issue = only_issue(path)
    assert str(issue) == (
        f"{path}:1: name: name 'churn' does not match the file name 'attrition.yaml'; "
        "set 'name: attrition' or rename the file to churn.yaml"
    )


def test_name_pattern(write_spec: SpecWriter) -> None:
    issues = validate_file(write_spec(replace=(("name: churn", "name: Churn!"),), name="Churn!"))
    assert [i.message for i in issues] == ["'Churn!' is not a valid name"]


def test_unknown_column_in_a_cost_suggests_the_closest(write_spec: SpecWriter) -> None:
    path = write_spec(replace=(("12 * monthly_charges", "12 * monthly_charge"),))
    issue = only_issue(path)
    assert str(issue) == (
        f"{path}:16: costs.false_negative: "
        "unknown column 'monthly_charge' in expression '12 * monthly_charge'; "
        "did you mean 'monthly_charges'? expressions may use inputs, data.extra_columns and the label column"
    )


def test_extra_columns_and_the_label_may_be_used(write_spec: SpecWriter) -> None:
    path = write_spec(
        replace=(
            ("12 * monthly_charges", "where(churned, 12 * monthly_charges + discount, 0)"),
            ("  label: churned\n", "  label: churned\n  extra_columns: [discount]\n"),
        )
    )
    assert validate_file(path) == []


def test_unknown_column_in_a_segment_filter(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("contract != 'Month-to-month'", "contrct != 'Month-to-month'"),)))
    assert (issue.line, issue.key) == (19, "segments[0].filter")
    assert issue.fix is not None and issue.fix.startswith("did you mean 'contract'?")


def test_forbidden_expression(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(('"12 * monthly_charges"', "\"__import__('os').system('ls')\""),)))
    assert (issue.line, issue.key) == (16, "costs.false_negative")
    assert "is not allowed in expression" in issue.message


def test_expression_syntax_error(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(('"12 * monthly_charges"', '"12 *"'),)))
    assert (issue.line, issue.key) == (16, "costs.false_negative")
    assert issue.message.startswith("invalid expression '12 *'")


def test_filter_must_be_a_condition(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("\"contract != 'Month-to-month'\"", '"tenure + 1"'),)))
    assert issue.key == "segments[0].filter"
    assert issue.message.startswith("'tenure + 1' is arithmetic, not a condition")


def test_a_cost_must_be_a_number_or_an_expression(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("false_positive: 50", "false_positive: true"),)))
    assert (issue.line, issue.key, issue.value) == (15, "costs.false_positive", True)


def test_budget_gate_needs_the_budget_set(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("  latency_p99_ms: 50\n", "  memory_mb: 512\n"),)))
    assert (issue.line, issue.key, issue.value) == (25, "gates[0].budget", "latency_p99_ms")
    assert str(issue).endswith(
        "the gate checks budget 'latency_p99_ms', which is not set; set budgets.latency_p99_ms or remove this gate"
    )


def test_unknown_guard_metric_lists_the_known_metrics(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("metric: false_positive_rate", "metric: fpr"),)))
    assert (issue.line, issue.key) == (21, "segments[0].guards[0].metric")
    assert issue.message == "'fpr' is not a valid metric"
    assert issue.fix is not None and "false_positive_rate" in issue.fix and "cost_per_1000" in issue.fix


@pytest.mark.parametrize(
    ("gate", "line", "key", "message"),
    [
        ("  - kind: threshold\n", 26, "gates[1].kind", "'threshold' is not a valid gate kind"),
        ("  - metric: roc_auc\n", 26, "gates[1].kind", "missing required key 'kind'"),
        (
            "  - kind: metric\n    metric: roc_auc\n    op: '>='\n",
            26,
            "gates[1].value",
            "missing required key 'value'",
        ),
        (
            "  - kind: metric\n    metric: roc_auc\n    op: '=>'\n    value: 0.7\n",
            28,
            "gates[1].op",
            "'=>' is not a valid operator",
        ),
        (
            "  - kind: metric\n    metric: roc_auc\n    op: '>='\n    value: 0.7\n    valeu: 1\n",
            30,
            "gates[1].valeu",
            "unknown key 'valeu'",
        ),
        (
            "  - kind: beats_champion\n    probability: 1.5\n",
            27,
            "gates[1].probability",
            "1.5 is out of range",
        ),
        (
            "  - kind: budget\n    budget: disk_mb\n",
            27,
            "gates[1].budget",
            "'disk_mb' is not a valid budget name",
        ),
    ],
)
def test_gate_errors(write_spec: SpecWriter, gate: str, line: int, key: str, message: str) -> None:
    path = write_spec(replace=(("data:\n", gate + "data:\n"),))
    issue = only_issue(path)
    assert (issue.line, issue.key, issue.message) == (line, key, message)


def test_unknown_key_inside_a_gate_suggests_from_that_gate_kind(write_spec: SpecWriter) -> None:
    path = write_spec(replace=(("data:\n", "  - kind: beats_champion\n    probabilty: 0.9\ndata:\n"),))
    assert only_issue(path).fix == "did you mean 'probability'?"


def test_planned_task_says_not_yet(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("task: binary_classification", "task: regression"),)))
    assert (issue.line, issue.key) == (2, "task")
    assert issue.message.startswith("task 'regression' is not supported yet; use 'binary_classification'")


def test_unknown_task_lists_the_allowed(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("task: binary_classification", "task: clustering"),)))
    assert str(issue).endswith("task: 'clustering' is not a valid task; use one of binary_classification")


def test_negative_budget(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("latency_p99_ms: 50", "latency_p99_ms: -5"),)))
    assert str(issue).endswith("budgets.latency_p99_ms: -5 is out of range; must be greater than 0")


def test_wrong_shape(write_spec: SpecWriter) -> None:
    issue = only_issue(
        write_spec(
            replace=(
                ("budgets:\n  latency_p99_ms: 50\n", "budgets: [50]\n"),
                ("  - kind: budget\n    budget: latency_p99_ms\n", ""),
            )
        )
    )
    assert (issue.key, issue.message) == ("budgets", "expected a mapping of keys, got a list [50]")


def test_union_type_errors_merge_into_one_issue(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("[Month-to-month, One year]", "[Month-to-month, 1.5]"),)))
    assert (issue.key, issue.message) == (
        "inputs[1].categories[1]",
        "expected a string or a whole number, got a number 1.5",
    )


def test_label_must_not_be_an_input(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("  label: churned", "  label: tenure"),)))
    assert (issue.line, issue.key) == (28, "data.label")


# --- file-level problems ---


def test_yaml_syntax_error_has_its_line(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("  - name: contract\n", "  - name: [contract\n"),)))
    assert issue.line is not None and issue.line >= 7
    assert issue.key == ""
    assert issue.message.startswith("invalid YAML: ")


def test_duplicate_yaml_key(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("    min: 0\n", "    min: 0\n    min: 1\n"),)))
    assert issue.line == 7
    assert issue.message.startswith('duplicate key "min"')


def test_tabs(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec(replace=(("task: binary", "task:\tbinary"),)))
    assert issue.fix == "indent with spaces, not tabs"


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(write_spec: SpecWriter, text: str) -> None:
    path = write_spec(text)
    with pytest.raises(SpecError, match=r":1: the file is empty; start with 'name:'"):
        load_use_case(path)


def test_top_level_not_a_mapping(write_spec: SpecWriter) -> None:
    issue = only_issue(write_spec("- name: churn\n"))
    assert issue.message == "the top level must be a mapping of keys, not a list"


def test_missing_file_is_a_spec_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as caught:
        load_use_case(path)
    assert str(caught.value) == f"{path}: no such file; check the path"
    assert isinstance(caught.value, UsageError)
    assert [issue.line for issue in caught.value.issues] == [None]


def test_a_folder_is_not_a_spec(tmp_path: Path) -> None:
    assert only_issue(tmp_path).message == "is a folder, not a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_bytes(b"name: churn\ndescription: caf\xe9\n")
    issue = only_issue(path)
    assert (issue.line, issue.message) == (2, "the file is not UTF-8 text")


# --- many problems at once ---


def test_every_problem_is_reported_in_line_order(write_spec: SpecWriter) -> None:
    path = write_spec(
        replace=(
            ("task: binary_classification", "task: binary"),
            ("    type: float", "    type: flaot"),
            ("  latency_p99_ms: 50\n", "  latency_p99_ms: 50\n  memory: 4\n"),
            ("12 * monthly_charges", "12 * monthly_charge"),
            ("metric: false_positive_rate", "metric: fpr"),
        ),
        name="retention",
    )
    with pytest.raises(SpecError) as caught:
        load_use_case(path)
    issues = caught.value.issues
    assert [issue.key for issue in issues] == [
        "name",
        "task",
        "inputs[2].type",
        "budgets.memory",
        "costs.false_negative",
        "segments[0].guards[0].metric",
    ]
    assert [issue.line for issue in issues] == [1, 2, 11, 14, 17, 22]
    assert str(caught.value) == "\n".join(str(issue) for issue in issues)
    assert caught.value.message.count("\n") == 5
    assert validate_file(path) == issues


def test_issues_are_frozen_values() -> None:
    issue = SpecIssue("f.yaml", 3, "a.b", 1, "bad", None)
    assert str(issue) == "f.yaml:3: a.b: bad"
    with pytest.raises(AttributeError):
        issue.line = 4  # type: ignore[misc]


# --- folders ---


def test_load_use_cases_reads_a_folder(tmp_path: Path, minimal_spec: str) -> None:
    (tmp_path / "churn.yaml").write_text(minimal_spec)
    (tmp_path / "upsell.yml").write_text(minimal_spec.replace("name: churn", "name: upsell"))
    (tmp_path / "notes.txt").write_text("not a spec")
    use_cases = load_use_cases(tmp_path)
    assert sorted(use_cases) == ["churn", "upsell"]
    assert find_use_case(tmp_path, "upsell") == tmp_path / "upsell.yml"


def test_load_use_cases_reports_the_issues_of_every_file(tmp_path: Path, minimal_spec: str) -> None:
    (tmp_path / "a.yaml").write_text(minimal_spec.replace("name: churn", "name: a").replace("type: float", "type: x"))
    (tmp_path / "b.yaml").write_text("")
    with pytest.raises(SpecError) as caught:
        load_use_cases(tmp_path)
    assert [Path(issue.file).name for issue in caught.value.issues] == ["a.yaml", "b.yaml"]


def test_load_use_cases_needs_the_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no use-case folder at"):
        load_use_cases(tmp_path / "usecases")


def test_find_use_case_lists_what_is_available(tmp_path: Path, minimal_spec: str) -> None:
    (tmp_path / "churn.yaml").write_text(minimal_spec)
    (tmp_path / "upsell.yaml").write_text(minimal_spec)
    with pytest.raises(
        NotFoundError, match=r"no use case 'chrun' in .*; did you mean 'churn'\? available: churn, upsell$"
    ):
        find_use_case(tmp_path, "chrun")
    with pytest.raises(NotFoundError, match=r"available: \(none\)$"):
        find_use_case(tmp_path / "missing", "churn")


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("false_positive: 50", "false_positive: .nan", "costs.false_positive"),
        ("false_positive: 50", "false_positive: .inf", "costs.false_positive"),
        ("  latency_p99_ms: 50\n", "  latency_p99_ms: 1e400\n", "budgets.latency_p99_ms"),
    ],
)
def test_numbers_that_are_not_finite_are_refused(write_spec: SpecWriter, old: str, new: str, key: str) -> None:
    issue = only_issue(write_spec(replace=((old, new),)))
    assert issue.key == key and "finite number" in issue.message, issue


def test_aliases_that_expand_beyond_reason_are_refused_quickly(write_spec: SpecWriter, minimal_spec: str) -> None:
    """A "billion laughs": nine lines of nested aliases expand to 10**8 values; the loader stops
    counting at 100,000 instead of spending minutes and gigabytes on them."""
    lines = ["x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 8)]
    path = write_spec(minimal_spec + "\n".join(lines) + "\n")
    started = time.perf_counter()
    issue = only_issue(path)
    assert time.perf_counter() - started < 10
    assert issue.message == "the file expands to more than 100,000 values (anchors repeated through '*' aliases)"
    assert issue.fix == "write the spec out plainly; a use case takes a few hundred values"


def test_an_anchor_used_a_few_times_still_loads(write_spec: SpecWriter) -> None:
    path = write_spec(replace=(("    type: int", "    type: &number float"), ("    type: float", "    type: *number")))
    assert validate_file(path) == []
    assert [f.type for f in load_use_case(path).inputs if f.type != "category"] == ["float", "float"]
