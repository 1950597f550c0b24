"""python -m services.games: which games can be played here, and how to add more.

    python -m services.games                      the playable games
    python -m services.games Pong-Atari2600-v0    is this one playable? (if not: what to do)
    python -m services.games --import-roms        import the Atari 2600 ROMs that ale-py ships
    python -m services.games --systems            each system's action set (docs/GAMES.md)
"""
from __future__ import annotations

import sys
import time

from common.config import OneLineErrorParser
from common.games import (
    ACTION_SETS,
    IMPORT_COMMAND,
    NEVER_PRESS,
    SYSTEM_SETTINGS,
    GameNotFound,
    RomImportError,
    SystemSettings,
    UnknownGame,
    action_set,
    ale_rom_dir,
    combos_from_axes,
    find_game,
    import_roms,
    playable_games,
    system_buttons,
    system_of,
)

PROG = "python -m services.games"


def list_playable() -> None:
    games = playable_games()
    print(f"{len(games)} playable games (id, system, discrete actions):")
    for game in games:
        print(f"  {game:<36} {system_of(game):<10} {len(action_set(game)):>3}")
    print(f"Any other stable-retro game: import your own ROM files with '{IMPORT_COMMAND}', "
          f"then check it with '{PROG} GAME'.")


def describe(games: list[str]) -> int:
    """One line per id; exit status 0 all playable, 1 some lack a ROM, 2 an unknown id."""
    status = 0
    for game in games:
        try:
            find_game(game)
        except GameNotFound as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            status = max(status, 2 if isinstance(exc, UnknownGame) else 1)
            continue
        print(f"{game}: playable ({system_of(game)}, {len(action_set(game))} discrete actions)")
    return status


def import_ale_roms() -> int:
    """What scripts/setup.sh runs: quiet (one line), idempotent, never fails the setup."""
    folder = ale_rom_dir()
    if folder is None:
        print(f"{PROG}: ale-py's ROM folder not found (ale-py is in requirements.txt); "
              "no Atari 2600 games imported", file=sys.stderr)
        return 0
    started = time.monotonic()
    try:
        imported, present = import_roms(folder)
    except RomImportError as exc:
        print(f"{PROG}: {exc}; no Atari 2600 games imported", file=sys.stderr)
        return 0
    print(f"{PROG}: {len(imported)} games imported from ale-py's ROMs, {present} already there "
          f"({time.monotonic() - started:.1f} s)", file=sys.stderr)
    return 0


def axis_text(axis: list[list[str]]) -> str:
    return "{" + ", ".join("+".join(combo) or "-" for combo in axis) + "}"


def systems_table() -> str:
    """The docs' per-system table, from stable-retro's own core data."""
    import stable_retro.data as retro_data

    lines = ["| System | Declared combinations (one per axis; - = none) | Never pressed "
             "| Actions | Settings |", "| --- | --- | --- | --- | --- |"]
    for system in sorted(retro_data.EMU_INFO, key=str.lower):
        axes = retro_data.EMU_INFO[system]["actions"]
        pad = system_buttons(system)
        never = sorted({b for b in pad if b in NEVER_PRESS})
        never += ["unnamed"] * (None in pad)
        fire = SYSTEM_SETTINGS.get(system, SystemSettings()).fire_on_reset
        settings = f"{fire} for one step after reset" if fire else ""
        lines.append(f"| {system} | {' x '.join(axis_text(a) for a in axes)} | "
                     f"{', '.join(never)} | {len(combos_from_axes(axes, pad))} | {settings} |")
    for game, combos in ACTION_SETS.items():
        lines.append(f"| {game} (chosen set) | {axis_text(combos)} | all but these | "
                     f"{len(combos)} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description="List the stable-retro games that can be played here (their "
        "ROM is imported), say what to do for one that cannot, import the Atari 2600 ROMs that "
        "the ale-py package ships, or print each system's discrete action set.")
    parser.add_argument("game", nargs="*", help="game ids to look up (e.g. Pong-Atari2600-v0)")
    parser.add_argument("--import-roms", action="store_true",
                        help="import ale-py's Atari 2600 ROMs into stable-retro (idempotent)")
    parser.add_argument("--systems", action="store_true",
                        help="print the per-system action-set table (Markdown)")
    args = parser.parse_args(argv)
    if args.import_roms:
        import_ale_roms()
    if args.systems:
        print(systems_table())
    if args.game:
        return describe(args.game)
    if not (args.import_roms or args.systems):
        list_playable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
