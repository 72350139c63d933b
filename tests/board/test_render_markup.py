"""The board's terminal views print titles, owners and notes as written, never as Rich markup."""

from __future__ import annotations

from typer.testing import CliRunner

MARKUP = "[/] [bold]x[/bold] [forced: w]"
runner = CliRunner()


def test_board_views_print_markup_like_text_literally(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("board", "add", MARKUP, "--hypothesis", MARKUP, "--owner", "[/]@x", "--drop", "2020-01-01")
    assert code == 0 and MARKUP in out, err
    assert cli("board", "note", "RI-1", MARKUP)[0] == 0
    code, out, err = cli("board", "move", "RI-1", "exploring", "--reason", MARKUP)
    assert code == 0 and MARKUP in out, err
    code, out, err = cli("board", "show", "RI-1")
    assert code == 0 and out.count(MARKUP) >= 3, (out, err)  # title, hypothesis, the note and the move
    code, out, err = cli("board", "show")
    assert code == 0 and "[/]@x" in out and "[/]" in out, err
    for view in ("radar", "portfolio"):
        code, out, err = cli("board", view)
        assert code == 0 and "[/]@x" in out, (view, out, err)
