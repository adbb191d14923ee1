"""Every setting is documented in the README's settings table, under the variable that sets it."""

from model.paths import PROJECT_ROOT
from training.settings import Settings


def test_readme_documents_every_setting():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Settings") :]
    missing = [name for name in Settings.model_fields if f"`TRIASE_{name.upper()}`" not in table]
    assert not missing, f"settings not in the README table: {missing}"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIASE_MAX_TEXT_CHARS", "500")
    monkeypatch.setenv("TRIASE_MODEL_URI", "models:/complaint-triage/7")
    settings = Settings()
    assert settings.max_text_chars == 500
    assert settings.serving_uri == "models:/complaint-triage/7"
    assert Settings(model_uri=None).serving_uri == "models:/complaint-triage@champion"
