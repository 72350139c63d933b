"""``modelyard evaluate``: a thin command over :func:`modelyard.evaluate.evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard._exceptions import ModelyardError
from modelyard.cli._common import (
    JsonFlag,
    check_output,
    friendly,
    input_paths,
    open_cli_yard,
    version_ref,
    write_output,
)
from modelyard.cli._render import console, print_json

__all__ = ["register_commands"]


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
        allow_training_rows: Annotated[
            str | None,
            typer.Option(
                "--allow-training-rows",
                help="Evaluate even on rows a version learnt from, saying why (recorded; HOLD at best when they "
                "are the challenger's).",
                metavar="WHY",
            ),
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Price the challenger's decisions against the champion's; say PROMOTE, HOLD or BLOCK, and why."""
        from modelyard.evaluate import evaluate
        from modelyard.evaluate._data import DEFAULT_DATA
        from modelyard.evaluate._report_terminal import print_summary

        challenger = version_ref(version)
        champion: int | str | None = None if against.lower() == "none" else version_ref(against, "--against")
        with open_cli_yard() as yard:
            if html is not None or markdown is not None:
                root = yard.settings.root
                try:
                    spec = yard.use_case(use_case)
                    sources: list[Path | None] = [spec.source_path, root / spec.data.source]
                except ModelyardError:  # evaluate() says what is wrong with the use case
                    sources = []
                inputs = input_paths(data, *(scores or []), root / DEFAULT_DATA, *sources)
                for path, option, example in ((html, "--html", "report.html"), (markdown, "--markdown", "summary.md")):
                    if path is not None:
                        check_output(path, option, inputs=inputs, example=example)
            evaluation = evaluate(
                yard,
                use_case,
                challenger,
                against=champion,
                data=data,
                scores=scores or None,
                baseline=baseline,
                replicates=replicates,
                seed=seed,
                trust=trust,
                allow_training_rows=allow_training_rows,
            )
        if html is not None:
            write_output(html, "--html", evaluation.to_html())
        if markdown is not None:
            write_output(markdown, "--markdown", evaluation.to_markdown())
        if as_json:
            print_json(evaluation.to_dict())
        else:
            print_summary(evaluation.result, console, evaluation.report_path)
