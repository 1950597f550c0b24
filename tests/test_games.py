"""The game catalogue on the real stable-retro data and emulators: every playable game.

The per-game test builds each game's full env stack (one emulator at a time:
stable-retro allows one per process), so it runs every imported ROM, Atari 2600
and Genesis alike, through gymnasium's checker and 200 random steps.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import stable_retro
import stable_retro.data as retro_data
from gymnasium.utils.env_checker import check_env

from common import games
from common.config import ConfigError, parse_config
from common.envs import (
    DEFAULT_GAME,
    EnvOptions,
    FrameSkipMaxPool,
    GameNotFound,
    game_screen,
    make_env,
    num_actions,
)
from tests.conftest import REPO

PLAYABLE = games.playable_games()
ATARI = [g for g in PLAYABLE if games.system_of(g) == "Atari2600"]
AIRSTRIKER_SET = [[], ["UP"], ["DOWN"], ["LEFT"], ["RIGHT"], ["B"],
                  ["UP", "B"], ["DOWN", "B"], ["LEFT", "B"], ["RIGHT", "B"]]


def run_games(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.games", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


# --- the catalogue -------------------------------------------------------------------

def test_ale_py_roms_make_33_games_playable_out_of_the_box():
    # scripts/setup.sh imports them; stable-retro itself ships only Airstriker.
    assert DEFAULT_GAME in PLAYABLE
    assert len(ATARI) == 32, f"Atari 2600 games playable: {ATARI} (run {games.ALE_IMPORT_COMMAND})"
    assert {"Pong-Atari2600-v0", "Breakout-Atari2600-v0", "Seaquest-Atari2600-v0",
            "MontezumaRevenge-Atari2600-v0"} <= set(ATARI)


def test_has_rom_agrees_with_stable_retros_own_lookup():
    def lookup(game):
        try:
            return bool(retro_data.get_romfile_path(game))
        except FileNotFoundError:
            return False
    assert [g for g in games.known_games() if games.has_rom(g) != lookup(g)] == []


@pytest.mark.parametrize("game, system", [("Pong-Atari2600-v0", "Atari2600"),
                                          ("Airstriker-Genesis-v0", "Genesis"),
                                          ("SuperMarioBros-Nes-v0", "Nes"),
                                          ("MortalKombat3-Genesis", "Genesis")])
def test_system_is_read_from_the_game_id(game, system):
    assert games.system_of(game) == system


@pytest.mark.parametrize("system", sorted(retro_data.EMU_INFO))
def test_every_systems_set_starts_with_noop_and_never_presses_a_switch(system):
    pad = games.system_buttons(system)
    combos = games.combos_from_axes(retro_data.EMU_INFO[system]["actions"], pad)
    assert combos[0] == []  # no-op starts and sticky actions use action 0
    assert len({frozenset(c) for c in combos}) == len(combos)
    for combo in combos:
        assert not set(combo) & games.NEVER_PRESS and set(combo) <= set(pad) - {None}
    for button in games.DPAD:
        assert [button] in combos


def test_atari_set_is_the_full_18_action_set():
    combos = games.action_set("Pong-Atari2600-v0")
    assert len(combos) == 18  # as ALE's full action set: 9 stick positions x fire or not
    assert {frozenset(c) - {"BUTTON"} for c in combos} == {
        frozenset(v + h) for v in ([], ["UP"], ["DOWN"]) for h in ([], ["LEFT"], ["RIGHT"])}
    assert sum("BUTTON" in c for c in combos) == 9


def test_airstriker_keeps_its_ten_actions_in_order():
    assert games.action_set(DEFAULT_GAME) == AIRSTRIKER_SET
    assert num_actions(DEFAULT_GAME) == 10


def test_a_scenario_can_replace_the_systems_combinations():
    # Skiing's scenario.json declares no fire button (its ROM need not be imported)
    combos = games.action_set("Skiing-Atari2600-v0")
    assert len(combos) == 9 and not any("BUTTON" in c for c in combos)


@pytest.mark.parametrize("game, words", [
    ("Pongg-Atari2600-v0", "did you mean Pong-Atari2600-v0"),
    ("pong", "did you mean Pong-Atari2600-v0"),
    ("NoSuchGame-Genesis-v0", "lists the playable ones"),
    ("SuperMarioBros-Nes-v0", "python -m stable_retro.import DIR' (DIR holds your ROM files)"),
])
def test_unplayable_game_is_one_line_saying_what_to_do(game, words):
    with pytest.raises(GameNotFound) as raised:
        make_env(EnvOptions(game=game))
    message = str(raised.value)
    assert "\n" not in message and words in message and "has no ROM installed" in message
    with pytest.raises(GameNotFound):
        num_actions(game)


# --- ROM import ------------------------------------------------------------------------

def test_import_roms_writes_known_roms_once_and_skips_the_rest(tmp_path, monkeypatch):
    # Only the hash table is stood in, so nothing is written into stable-retro's data.
    rom = bytes(range(256)) * 16
    folder, root = tmp_path / "roms", tmp_path / "data"
    (root / "Fake-Atari2600-v0").mkdir(parents=True)
    folder.mkdir()
    (folder / "fake.bin").write_bytes(rom)
    (folder / "notes.txt").write_text("not a ROM")
    known = {hashlib.sha1(rom).hexdigest(): ("Fake-Atari2600-v0", ".a26", str(root))}
    monkeypatch.setattr(retro_data, "get_known_hashes", lambda: known)
    assert games.import_roms(folder) == (["Fake-Atari2600-v0"], 0)
    assert (root / "Fake-Atari2600-v0" / "rom.a26").read_bytes() == rom
    before = (root / "Fake-Atari2600-v0" / "rom.a26").stat().st_mtime_ns
    assert games.import_roms(folder) == ([], 1)  # idempotent: nothing rewritten
    assert (root / "Fake-Atari2600-v0" / "rom.a26").stat().st_mtime_ns == before
    assert sorted(p.name for p in (root / "Fake-Atari2600-v0").iterdir()) == ["rom.a26"]


def test_import_of_ale_py_roms_is_quiet_idempotent_and_quick():
    assert games.ale_rom_dir() is not None
    started = time.monotonic()
    result = run_games("--import-roms")
    seconds = time.monotonic() - started
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "0 games imported from ale-py's ROMs, 32 already there" in result.stderr
    assert seconds < 30  # seconds even on a loaded 2-core machine


def test_import_without_ale_py_roms_is_one_line_and_does_not_fail_the_setup(tmp_path):
    (tmp_path / "ale_py").mkdir()  # an ale_py package without its roms/ folder
    (tmp_path / "ale_py" / "__init__.py").write_text("")
    result = subprocess.run([sys.executable, "-m", "services.games", "--import-roms"], cwd=REPO,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"})
    assert result.returncode == 0
    assert result.stderr.strip().splitlines() == [
        "python -m services.games: ale-py's ROM folder not found (ale-py is in "
        "requirements.txt); no Atari 2600 games imported"]


# --- the games command -----------------------------------------------------------------

def test_games_command_lists_the_playable_games():
    result = run_games()
    assert result.returncode == 0, result.stderr
    assert f"{len(PLAYABLE)} playable games" in result.stdout
    for game in ("Pong-Atari2600-v0", "Breakout-Atari2600-v0", DEFAULT_GAME):
        assert game in result.stdout
    assert "python -m stable_retro.import DIR" in result.stdout


@pytest.mark.parametrize("args, code, words", [
    (["Pong-Atari2600-v0"], 0, "Pong-Atari2600-v0: playable (Atari2600, 18 discrete actions)"),
    (["SuperMarioBros-Nes-v0"], 1, "python -m stable_retro.import DIR"),
    (["Breakot-Atari2600-v0"], 2, "did you mean Breakout-Atari2600-v0"),
    (["--no-such-flag"], 2, "unrecognized arguments"),
])
def test_games_command_answers_each_id_in_one_line(args, code, words):
    result = run_games(*args)
    assert result.returncode == code
    assert "Traceback" not in result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and words in lines[0]


def test_games_command_prints_the_docs_table():
    result = run_games("--systems")
    assert result.returncode == 0
    atari = next(line for line in result.stdout.splitlines() if line.startswith("| Atari2600 "))
    assert "| 18 |" in atari and "BUTTON for one step after reset" in atari
    assert "| RESET, SELECT, unnamed |" in atari


# --- options -----------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, flag", [
    ("frame_skip", 0, "--frame-skip"), ("frame_skip", 31, "--frame-skip"),
    ("frame_stack", 0, "--frame-stack"), ("frame_stack", 17, "--frame-stack"),
    ("sticky_prob", 1.0, "--sticky-prob"), ("sticky_prob", -0.1, "--sticky-prob"),
    ("noop_max", -1, "--noop-max"), ("max_episode_steps", 0, "--max-episode-steps"),
])
def test_env_options_reject_bad_values_in_one_line(field, value, flag):
    with pytest.raises(ConfigError, match=f"^{flag} must"):
        EnvOptions(**{field: value})


def test_env_options_accept_their_limits():
    EnvOptions(frame_skip=1, frame_stack=1, sticky_prob=0.0, noop_max=0, max_episode_steps=1)
    EnvOptions(frame_skip=30, frame_stack=16, sticky_prob=0.99)


def test_bad_env_flag_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        parse_config(EnvOptions, ["--frame-skip", "0"], "prog", "test")
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "prog: error: --frame-skip must be between 1 and 30"]


# --- every playable game, on the real emulator ---------------------------------------------

def discrete_button_sets(retro) -> set[frozenset]:
    """What stable-retro's Actions.DISCRETE can press, from the loaded game's own data."""
    masks = [0]
    for axis in retro.data.valid_actions():
        masks = [m | a for m in masks for a in axis]
    return {frozenset(b for i, b in enumerate(retro.buttons) if m >> i & 1) for m in masks}


@pytest.mark.slow
@pytest.mark.parametrize("game", PLAYABLE)
def test_every_playable_game_builds_checks_and_plays(game):
    env = make_env(EnvOptions(game=game))
    try:
        check_env(env, skip_render_check=True)
        retro, combos = env.unwrapped, games.action_set(game)
        assert env.action_space.n == len(combos) == num_actions(game)
        # the set: what stable-retro declares valid, minus switches and unnamed buttons
        declared = discrete_button_sets(retro)
        ours = {frozenset(c) for c in combos}
        assert ours <= declared and combos[0] == []
        for combo in ours:
            assert not combo & games.NEVER_PRESS and None not in combo
        if game not in games.ACTION_SETS:
            assert ours == {s for s in declared if not s & games.NEVER_PRESS and None not in s}
            for button in [*games.DPAD, *games.fire_buttons(games.system_of(game))]:
                assert [button] in combos, f"{game} cannot press {button} alone"
        # 200 random steps
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(200):
            obs, reward, terminated, truncated, info = env.step(int(rng.integers(len(combos))))
            assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
            assert reward in (-1.0, 0.0, 1.0) and "raw_reward" in info
            if terminated or truncated:
                obs, _ = env.reset()
        screen = game_screen(env)
        assert screen.shape == retro.observation_space.shape and screen.shape[2] == 3
    finally:
        env.close()


# --- the frame-skipping shortcut equals stable-retro's own step, on each system ------------

def reference_steps(game: str, buttons: list[np.ndarray], skip: int) -> list[tuple]:
    """(max-pooled screen, summed reward, done) per agent step via RetroEnv.step per frame."""
    env = stable_retro.make(game, render_mode=None)
    try:
        env.reset()
        out = []
        for mask in buttons:
            screens, reward, done = [], 0.0, False
            for _ in range(skip):
                screen, r, done, _, _ = env.step(mask)
                screens.append(screen)
                reward += r
                if done:
                    break
            obs = np.maximum(screens[-2], screens[-1]) if len(screens) >= 2 else screens[-1]
            out.append((obs, reward, done))
            if done:
                break
        return out
    finally:
        env.close()


def shortcut_steps(game: str, buttons: list[np.ndarray], skip: int) -> list[tuple]:
    env = FrameSkipMaxPool(stable_retro.make(game, render_mode=None), skip)
    try:
        env.reset()
        out = []
        for mask in buttons:
            obs, reward, done, _, _ = env.step(mask)
            out.append((obs, reward, done))
            if done:
                break
        return out
    finally:
        env.close()


@pytest.mark.slow
@pytest.mark.parametrize("game, skip", [("Pong-Atari2600-v0", 4), ("Breakout-Atari2600-v0", 4),
                                        ("Breakout-Atari2600-v0", 3), (DEFAULT_GAME, 4)])
def test_frame_skip_max_pool_equals_stable_retros_step(game, skip):
    combos = games.action_set(game)
    buttons_of = games.system_buttons(games.system_of(game))
    masks = [np.array([b in c for b in buttons_of], np.uint8) for c in combos]
    rng = np.random.default_rng(5)
    # Breakout and Pong need FIRE/serves: random play ends an episode well within this
    plan = [masks[int(rng.integers(len(masks)))] for _ in range(3000)]
    expected, got = reference_steps(game, plan, skip), shortcut_steps(game, plan, skip)
    assert expected[-1][2], "the reference episode should end, so 'done' is compared too"
    assert len(got) == len(expected)
    for i, ((obs_a, rew_a, done_a), (obs_b, rew_b, done_b)) in enumerate(zip(expected, got)):
        assert done_a == done_b and rew_a == rew_b, f"step {i}"
        if not done_a:  # the reference stops mid-skip on game over
            assert np.array_equal(obs_a, obs_b), f"step {i}"


@pytest.mark.slow
def test_breakout_is_served_by_the_fire_press_after_reset():
    retro = stable_retro.make("Breakout-Atari2600-v0", render_mode=None)
    try:
        retro.reset()
        noop = np.zeros(len(retro.buttons), np.uint8)
        lives = [retro.step(noop)[4]["lives"] for _ in range(600)]
        assert set(lives) == {5}  # without FIRE the ball is never served
    finally:
        retro.close()
    env = make_env(EnvOptions(game="Breakout-Atari2600-v0", noop_max=0, sticky_prob=0.0))
    try:
        env.reset(seed=0)
        lives = [env.step(0)[4]["lives"] for _ in range(150)]  # 600 frames of no-ops
        assert lives[0] == 5 and lives[-1] == 4  # served once, then missed
    finally:
        env.close()
