"""The monitor's episodes: a condition reported at each threshold a stretch passes, once over
after `settle` clear seconds; a flapping condition is one episode (watcher/monitor.py)."""

from __future__ import annotations

import pytest

from watcher.monitor import Episode, MonitorOptions, Report

Looks = list[tuple[float, float | None]]  # (now, how long the condition has held, or None)


def reports(
    looks: Looks, thresholds: tuple[float, ...] = (5, 10, 30), settle: float = 3
) -> list[tuple[float, Report]]:
    episode = Episode(thresholds, settle)
    found: list[tuple[float, Report]] = []
    for now, stretch in looks:
        report = episode.observe(now, stretch)
        if report is not None:
            found.append((now, report))
    return found


def test_each_threshold_once_then_recovered_after_settling() -> None:
    looks: Looks = [(100 + t, t) for t in range(0, 13)] + [(113, None), (115, None), (116, None)]
    assert reports(looks) == [
        (105, Report(False, 5, 100, 105)),
        (110, Report(False, 10, 100, 110)),
        # Clear at 113, over 3 s later; the recovery says how long the longest stretch was.
        (116, Report(True, 10, 100, 113)),
    ]


def test_a_condition_shorter_than_the_first_threshold_is_no_episode() -> None:
    looks: Looks = [(100, 1), (102, 3), (104, None), (110, None), (111, 4.9), (112, None)]
    assert reports(looks) == []


@pytest.mark.parametrize("gap", [1, 3])
def test_a_flapping_condition_is_one_episode(gap: int) -> None:
    # Looked at every second: down 7 s, up `gap` s, four times, then up for good. "Clear" is
    # a stretch shorter than the first threshold: settle must outlast it plus a gap (as the
    # defaults do: 30 s against 5 s).
    looks: Looks = []
    t = 100
    for _ in range(4):
        looks += [(t + s, s) for s in range(8)]
        t += 8
        looks += [(t + s, None) for s in range(gap)]
        t += gap
    looks += [(t + s, None) for s in range(11)]
    found = reports(looks, settle=10)
    assert [r.recovered for _, r in found] == [False, True]  # one alert, one recovery
    assert found[0][1].since == found[1][1].since == 100
    assert reports(looks, settle=4)[1][1].recovered  # a settle too short: episodes per flap


def test_a_stretch_after_settling_is_a_new_episode() -> None:
    looks: Looks = [(100, 0), (105, 5), (106, None), (109, None)]
    looks += [(120, 5), (121, None), (124, None)]
    found = reports(looks)
    assert [(r.recovered, r.since) for _, r in found] == [
        (False, 100),
        (True, 100),
        (False, 115),
        (True, 115),
    ]


def test_a_later_stretch_of_the_episode_reports_only_thresholds_not_yet_passed() -> None:
    looks: Looks = [(100, 10), (101, None), (102, 5), (103, 10), (120, 27), (123, 30)]
    found = reports(looks)
    # 5 and 10 at once (one report), nothing for the second stretch until it passes 30.
    assert [(now, r.seconds) for now, r in found] == [(100, 10), (123, 30)]


def test_at_once_means_the_first_look() -> None:
    assert reports([(100, 0.0)], thresholds=(0.0,)) == [(100, Report(False, 0.0, 100, 100))]


def test_the_rules_thresholds_join_the_ladder() -> None:
    options = MonitorOptions().adding(silent=[7.5], lag=[0.5, 5.0])
    assert 7.5 in options.silent
    assert 7.5 not in options.down
    assert options.lag[0] == 0.5
    assert list(options.lag) == sorted(set(options.lag))


def test_retuned_thresholds_count_what_the_episode_passed() -> None:
    episode = Episode((5, 10), settle=3)
    assert episode.observe(100, 6) == Report(False, 6, 94, 100)
    episode.retune((5, 7, 20))  # a reload published a 7 s and a 20 s rule; 10 went
    assert episode.observe(101, 7) == Report(False, 7, 94, 101)  # 5 was reported, 7 was not
    assert episode.observe(104, 10) is None
    assert episode.observe(114, 20) == Report(False, 20, 94, 114)
    episode.retune((1,))
    assert episode.observe(115, 21) is None  # 1 was passed long ago
