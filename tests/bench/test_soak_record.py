"""Hand-run sections of ``bench/RESULTS.md`` (the soak's, the fleet's): written by their scripts, kept by the report."""

from __future__ import annotations

from bench.report import SOAK_HEADING, replace_section, section
from bench.soak import slope_per_minute

TABLES = "# Outrider benchmark results\n\n## Results\n\nrows\n\n## Reproducing\n\nhow\n"


def test_the_soak_section_is_appended_then_replaced() -> None:
    first = replace_section(TABLES, SOAK_HEADING, f"{SOAK_HEADING}\n\nrun 1\n")
    assert first == TABLES + f"\n{SOAK_HEADING}\n\nrun 1\n"
    second = replace_section(first, SOAK_HEADING, f"{SOAK_HEADING}\n\nrun 2\n")
    assert section(second, SOAK_HEADING) == f"{SOAK_HEADING}\n\nrun 2\n"
    assert second.startswith(TABLES)


def test_a_section_ends_at_the_next_heading() -> None:
    text = f"# T\n\n{SOAK_HEADING}\n\nbody\n\n## Later\n\nmore\n"
    assert section(text, SOAK_HEADING) == f"{SOAK_HEADING}\n\nbody\n\n"
    assert section(TABLES, SOAK_HEADING) == ""


def test_slope_is_per_minute() -> None:
    assert slope_per_minute([(0.0, 10.0), (30.0, 11.0), (60.0, 12.0)]) == 2.0
    assert slope_per_minute([(0.0, 5.0), (60.0, 5.0)]) == 0.0


def test_the_suite_report_keeps_every_hand_run_section() -> None:
    from bench.report import hand_run_sections

    text = TABLES + f"\n## Fleet: through a non-owner\n\nfleet rows\n\n{SOAK_HEADING}\n\nsoak rows\n"
    assert (
        hand_run_sections(text)
        == f"## Fleet: through a non-owner\n\nfleet rows\n\n{SOAK_HEADING}\n\nsoak rows\n"
    )
    assert hand_run_sections(TABLES) == ""
