"""The game catalogue: which stable-retro games are playable here, and how each is played.

A game is *playable* when stable-retro integrates it and its ROM is imported.
Its discrete actions come from stable-retro's own integration data: each
system declares its valid button combinations as axes (d-pad up/down, d-pad
left/right, fire buttons, ...) and a game's scenario.json may replace them.
The set is every choice of one combination per axis, first axis fastest, as
stable-retro's ``Actions.DISCRETE`` builds it, without any combination that
presses a console switch, a start/pause button or an unnamed button.
docs/GAMES.md has the table (``python -m services.games --systems`` prints it).
"""
from __future__ import annotations

import difflib
import importlib.util
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import stable_retro.data as retro_data

# Console switches and start/pause buttons: pressing them during play resets,
# pauses or reconfigures the game instead of playing it.
NEVER_PRESS = frozenset({"RESET", "SELECT", "MODE", "C-MODE", "START", "PAUSE", "RUN"})
DPAD = ("UP", "DOWN", "LEFT", "RIGHT")

def _python() -> str:
    """This interpreter as a user would type it (.venv/bin/python after the setup):
    a bare `python` may lack the project's packages."""
    relative = os.path.relpath(sys.executable)
    return relative if not relative.startswith("..") else sys.executable


IMPORT_COMMAND = f"{_python()} -m stable_retro.import DIR"
ALE_IMPORT_COMMAND = f"{_python()} -m services.games --import-roms"

# Hand-chosen sets, kept because experiments compare against them. In
# Airstriker only B fires, and only on a fresh press, so the policy must learn
# to alternate fire with movement.
_DIRECTIONS = [[d] for d in DPAD]
ACTION_SETS: dict[str, list[list[str]]] = {
    "Airstriker-Genesis-v0": [[], *_DIRECTIONS, ["B"], *[d + ["B"] for d in _DIRECTIONS]],
}


@dataclass(frozen=True)
class SystemSettings:
    """What a system needs beyond the common env stack (docs/GAMES.md explains each)."""
    fire_on_reset: str | None = None  # button held for one agent step after every reset


# Atari 2600 games wait for FIRE to serve (Breakout's ball), as the standard
# Atari wrappers (SB3's AtariWrapper, OpenAI baselines' FireResetEnv) assume.
SYSTEM_SETTINGS: dict[str, SystemSettings] = {
    "Atari2600": SystemSettings(fire_on_reset="BUTTON"),
}


class GameNotFound(RuntimeError):
    """A game id that cannot be played here; the message is one line for a CLI."""


class RomImportError(RuntimeError):
    """stable-retro's data folder cannot take a ROM (read-only, full disk)."""


class UnknownGame(GameNotFound):
    """An id stable-retro does not integrate at all (a typo, usually)."""


def system_of(game: str) -> str:
    """The system part of a game id: 'Pong-Atari2600-v0' -> 'Atari2600'."""
    name, _, version = game.rpartition("-")
    if not (version.startswith("v") and version[1:].isdigit()):
        name = game
    return name.rpartition("-")[2]


def system_settings(game: str) -> SystemSettings:
    return SYSTEM_SETTINGS.get(system_of(game), SystemSettings())


def known_games() -> list[str]:
    """Every game stable-retro integrates (with or without a ROM)."""
    return retro_data.list_games()


def has_rom(game: str) -> bool:
    """Whether ``get_romfile_path`` finds a ROM (one directory listing, not one stat per type)."""
    roms = {"rom" + ext for ext in retro_data.EMU_EXTENSIONS}
    for sub in retro_data.Integrations.DEFAULT.paths:
        folder = os.path.join(retro_data.path(), sub, game)
        if os.path.isdir(folder) and roms & set(os.listdir(folder)):
            return True
    return False


def playable_games() -> list[str]:
    return [game for game in known_games() if has_rom(game)]


def closest_games(text: str, n: int = 3) -> list[str]:
    """Known ids closest to ``text``: by the game's name first (case-insensitive, so a
    bare 'pong' or a misspelt 'Pongg-Atari2600-v0' works), playable ones first."""
    games = known_games()
    wanted = text.lower()
    exact = [g for g in games if g.lower() == wanted]
    if exact:
        return exact
    name_of = {g: g.split("-")[0].lower() for g in games}
    names = difflib.get_close_matches(wanted.split("-")[0], set(name_of.values()), n, 0.75)
    found = [g for g in games if name_of[g] in names]
    playable = set(playable_games())
    similarity = lambda g: difflib.SequenceMatcher(None, wanted, g.lower()).ratio()
    return sorted(found, key=lambda g: (g not in playable, -similarity(g)))[:n]


def find_game(game: str) -> None:
    """Raise GameNotFound (one line, saying what to do) unless ``game`` is playable."""
    if game in known_games():
        if has_rom(game):
            return
        atari = system_of(game) == "Atari2600"
        hint = (f"; or import the Atari 2600 ROMs that ale-py ships: {ALE_IMPORT_COMMAND}"
                if atari and not any(system_of(g) == "Atari2600" for g in playable_games())
                else "")
        raise GameNotFound(f"game {game!r} has no ROM installed: import your copy with "
                           f"'{IMPORT_COMMAND}' (DIR holds your ROM files){hint}")
    close = closest_games(game)
    advice = (f"did you mean {', '.join(close)}?" if close
              else f"'{_python()} -m services.games' lists the playable ones")
    raise UnknownGame(f"game {game!r} has no ROM installed: stable-retro knows no game of "
                      f"that id; {advice}")


def declared_axes(game: str) -> list[list[list[str]]]:
    """The button combinations stable-retro declares valid: the game's scenario, or its system's."""
    axes = retro_data.EMU_INFO[system_of(game)]["actions"]
    scenario = retro_data.get_file_path(game, "scenario.json")
    if scenario:
        axes = json.loads(Path(scenario).read_text()).get("actions", axes)
    return axes


def combos_from_axes(axes: list[list[list[str]]], buttons: list[str | None]) -> list[list[str]]:
    """One combination per axis, first axis fastest (``Actions.DISCRETE``'s order).

    Drops combinations that press a NEVER_PRESS button or a name the system's
    pad lacks, and duplicates. Every declared axis starts with [] (nothing), so
    the first combination is the no-op that no-op starts and sticky actions use.
    """
    named = set(buttons) - {None}
    combos, seen = [], set()
    for choice in itertools.product(*reversed(axes)):
        combo = [b for part in reversed(choice) for b in part]
        key = frozenset(combo)
        if key in seen or key & NEVER_PRESS or not key <= named:
            continue
        seen.add(key)
        combos.append(combo)
    return combos


def system_buttons(system: str) -> list[str | None]:
    """The system's pad, in the order of stable-retro's button mask (None: unnamed)."""
    return retro_data.EMU_INFO[system]["buttons"]


def action_set(game: str) -> list[list[str]]:
    """The game's discrete actions, as lists of buttons held together."""
    if game in ACTION_SETS:
        return ACTION_SETS[game]
    return combos_from_axes(declared_axes(game), system_buttons(system_of(game)))


def fire_buttons(system: str) -> list[str]:
    """The system's named buttons that are neither d-pad nor NEVER_PRESS."""
    return [b for b in system_buttons(system)
            if b is not None and b not in DPAD and b not in NEVER_PRESS]


# --- ROMs --------------------------------------------------------------------

def ale_rom_dir() -> Path | None:
    """The folder of Atari 2600 ROMs inside the installed ale-py package (not imported)."""
    spec = importlib.util.find_spec("ale_py")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "roms"
    return folder if folder.is_dir() else None


def import_roms(folder: Path) -> tuple[list[str], int]:
    """Copy the ROMs in ``folder`` that stable-retro knows by hash into its data.

    Returns (games newly imported, games already there). Unlike
    ``python -m stable_retro.import`` it is quiet and rewrites nothing that is
    already in place, so running it again costs only the hashing.
    """
    known = retro_data.get_known_hashes()
    imported, present = [], 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            with open(path, "rb") as f:
                data, sha = retro_data.groom_rom(path.name, f)
        except (OSError, ValueError):
            continue
        if sha not in known:
            continue
        game, ext, root = known[sha]
        target = Path(root, game, "rom" + ext)
        if target.is_file() and target.read_bytes() == data:
            present += 1
            continue
        partial = target.with_name(target.name + ".partial")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)  # a half-written ROM is never seen as imported
        except OSError as exc:
            raise RomImportError(f"cannot write {target}: {exc.strerror}") from None
        imported.append(game)
    return imported, present
