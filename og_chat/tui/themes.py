"""Themes from TOML files: the bundled ones and any `themes/*.toml` in the config directory.

A file holds the fields of `textual.theme.Theme` at the top level (`name`,
`primary`, `secondary`, `accent`, `background`, `surface`, `panel`, `dark`, ...)
and an optional `[variables]` table. A bad file is reported, not fatal.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

BUNDLED_THEMES = Path(__file__).resolve().parent / "theme_files"
"""Themes shipped inside the package (so a non-editable install has them too)."""

_FIELDS = {f.name for f in fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file could not be read; the message names the file and the problem."""


def load_theme_file(path: Path) -> Theme:
    """Parse one theme file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ThemeFileError(f"{path}: {error}") from error
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ThemeFileError(f"{path}: unknown keys {', '.join(unknown)}")
    if "name" not in data or "primary" not in data:
        raise ThemeFileError(f"{path}: a theme needs at least `name` and `primary`")
    try:
        return Theme(**data)
    except (TypeError, ValueError) as error:
        raise ThemeFileError(f"{path}: {error}") from error


def load_themes(directories: list[Path]) -> tuple[list[Theme], list[str]]:
    """Every theme in the given directories, and a message per file that failed."""
    themes: list[Theme] = []
    problems: list[str] = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                themes.append(load_theme_file(path))
            except ThemeFileError as error:
                problems.append(str(error))
    return themes, problems
