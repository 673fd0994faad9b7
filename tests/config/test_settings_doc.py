"""docs/settings.md is generated from the Settings fields and must be current."""

from config.settings import Settings
from config.settings_doc import PAGE, render


def test_committed_settings_page_is_what_the_generator_writes() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: run `python -m config.settings_doc --write`"
    )


def test_every_setting_has_a_description_and_a_row() -> None:
    page = render()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"`SHOPBOT_{name.upper()}`" in page


def test_a_pipe_in_a_default_does_not_split_the_table_row() -> None:
    row = next(line for line in render().splitlines() if "ORDER_NUMBER_PATTERN" in line)
    assert row.replace("\\|", "").count("|") == 4
