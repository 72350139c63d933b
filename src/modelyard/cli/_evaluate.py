"""``modelyard evaluate``: a thin command over :func:`modelyard.evaluate.evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._common import JsonFlag, friendly, open_cli_yard
from modelyard.cli._render import console, print_json

__all__ = ["register_commands"]


def _ref(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def register_commands(app: typer.Typer) -> None:
    """Add ``evaluate`` to ``app``."""

    @app.command("evaluate")
    @friendly
    def evaluate_command(
        use_case: Annotated[str, typer.Argument(help="The use case, e.g. churn.")],
        version: Annotated[str, typer.Argument(help="The challenger: a version number (2 or v2) or a stage.")],
        against: Annotated[
            str,
            typer.Option("--against", help="The champion: 'production' (default), a version, or 'none'."),
        ] = "production",
        data: Annotated[
            Path | None,
            typer.Option(
                "--data",
                help="A snapshot id, or labelled rows (Parquet/CSV, raw or inputs); default data/recent.parquet.",
            ),
        ] = None,
        scores: Annotated[
            list[Path] | None,
            typer.Option(
                "--scores",
                help="Scored output of 'modelyard score' (a Parquet file, or the --engine spark folder) to use "
                "instead of scoring here; once per version, matched to --data by entity key.",
                metavar="PATH",
            ),
        ] = None,
        baseline: Annotated[
            bool,
            typer.Option(
                "--baseline/--no-baseline", help="Price a logistic regression fitted on the same rows (worth it?)."
            ),
        ] = True,
        replicates: Annotated[int, typer.Option("--replicates", help="Bootstrap replicates.")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and of the folds.")] = 0,
        html: Annotated[Path | None, typer.Option("--html", help="Also write the HTML report here.")] = None,
        markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
        trust: Annotated[bool, typer.Option("--trust", help="Allow loading pickled models.")] = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Price the challenger's decisions against the champion's; say PROMOTE, HOLD or BLOCK, and why."""
        from modelyard.evaluate import evaluate
        from modelyard.evaluate._report_terminal import print_summary

        champion: int | str | None = None if against.lower() == "none" else _ref(against)
        with open_cli_yard() as yard:
            evaluation = evaluate(
                yard,
                use_case,
                _ref(version),
                against=champion,
                data=data,
                scores=scores or None,
                baseline=baseline,
                replicates=replicates,
                seed=seed,
                trust=trust,
            )
        if html is not None:
            html.write_text(evaluation.to_html(), encoding="utf-8")
        if markdown is not None:
            markdown.write_text(evaluation.to_markdown(), encoding="utf-8")
        if as_json:
            print_json(evaluation.to_dict())
        else:
            print_summary(evaluation.result, console, evaluation.report_path)
