"""``resolve_model``: id grammar, keys from the environment, light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import overmind_jupyter
from overmind_jupyter.errors import OvermindError, UsageError
from overmind_jupyter.llm.fallback import FallbackModel
from overmind_jupyter.llm.gemini_model import GeminiModel
from overmind_jupyter.llm.openai_model import OpenAIModel
from overmind_jupyter.llm.registry import (
    MissingAPIKey,
    describe_model,
    resolve_model,
    split_base_url,
)
from overmind_jupyter.llm.scripted import ScriptedModel

pytestmark = pytest.mark.timeout(60)

SECRET = "sk-registry-secret-0000"


def test_openai_model_with_key():
    model = resolve_model("openai:gpt-4.1", env={"OPENAI_API_KEY": SECRET})
    assert isinstance(model, OpenAIModel)
    assert (model.model, model.base_url, model.model_id) == ("gpt-4.1", None, "openai:gpt-4.1")
    assert model.label == "gpt-4.1 (OpenAI)"


def test_openai_compatible_endpoint_needs_no_key():
    model = resolve_model("openai:qwen2.5-coder:7b@http://127.0.0.1:11434/v1", env={})
    assert isinstance(model, OpenAIModel)
    assert model.model == "qwen2.5-coder:7b"
    assert model.base_url == "http://127.0.0.1:11434/v1"


def test_openai_base_url_from_the_environment():
    model = resolve_model("openai:llama3", env={"OPENAI_BASE_URL": "http://localhost:8000/v1"})
    assert model.base_url == "http://localhost:8000/v1"


def test_missing_openai_key_names_the_variable():
    with pytest.raises(MissingAPIKey, match="set OPENAI_API_KEY"):
        resolve_model("openai:gpt-4.1", env={"GEMINI_API_KEY": "x"})


def test_gemini_keys_and_which_variable_is_named():
    model = resolve_model("gemini:gemini-2.5-pro", env={"GEMINI_API_KEY": "g"})
    assert isinstance(model, GeminiModel)
    assert (model.model, model.key_env, model.label) == (
        "gemini-2.5-pro", "GEMINI_API_KEY", "gemini-2.5-pro (Gemini)")
    both = resolve_model("gemini:gemini-2.5-flash",
                         env={"GEMINI_API_KEY": "g", "GOOGLE_API_KEY": "k"})
    assert both.key_env == "GOOGLE_API_KEY"  # google-genai's precedence
    proxied = resolve_model("gemini:gemini-2.5-pro@http://127.0.0.1:9/",
                            env={"GOOGLE_API_KEY": "k"})
    assert proxied.base_url == "http://127.0.0.1:9/"


def test_missing_gemini_key_names_the_variable():
    with pytest.raises(MissingAPIKey, match="set GEMINI_API_KEY"):
        resolve_model("gemini:gemini-2.5-pro", env={"OPENAI_API_KEY": "x"})


def test_scripted_model_from_a_path(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"turns": [{"text": "hi"}]}))
    model = resolve_model(f"scripted:{path}", env={})
    assert isinstance(model, ScriptedModel)
    assert model.model_id == f"scripted:{path}" and model.label == "scripted model"


def test_fallback_wraps_both_models(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_text('{"turns": []}')
    model = resolve_model("openai:gpt-4.1", env={"OPENAI_API_KEY": SECRET},
                          fallback=f"scripted:{path}")
    assert isinstance(model, FallbackModel)
    assert isinstance(model.primary, OpenAIModel)
    assert isinstance(model.alternative, ScriptedModel)


@pytest.mark.parametrize("model_id", ["gpt-4.1", "openai:", "anthropic:claude", ":x", ""])
def test_malformed_ids_are_usage_errors(model_id):
    with pytest.raises(UsageError):
        resolve_model(model_id, env={"OPENAI_API_KEY": SECRET})


def test_options_reach_the_adapter():
    model = resolve_model("openai:gpt-4.1", env={"OPENAI_API_KEY": SECRET}, timeout_s=7.5)
    assert model.timeout_s == 7.5


def test_split_base_url():
    assert split_base_url("m@http://h/v1") == ("m", "http://h/v1")
    assert split_base_url("org/m@https://openrouter.ai/api/v1") == (
        "org/m", "https://openrouter.ai/api/v1")
    assert split_base_url("name@version") == ("name@version", None)
    assert split_base_url("m@http://user:pw@h/v1") == ("m", "http://user:pw@h/v1")


def test_a_password_in_a_base_url_is_not_described():
    shown = describe_model("openai:m@http://ann:s3cret@h:8/v1", {})
    assert (shown["name"], shown["endpoint"], shown["model"]) == (
        "m", "http://h:8/v1", "openai:m@http://h:8/v1")
    from_env = describe_model("openai:m", {"OPENAI_BASE_URL": "https://u:s3cret@h/v1"})
    assert "s3cret" not in json.dumps(from_env) and from_env["endpoint"] == "https://h/v1"


def test_keys_never_show_in_ids_labels_or_reprs():
    for model_id in ("openai:gpt-4.1", "openai:m@http://127.0.0.1:1/v1"):
        model = resolve_model(model_id, env={"OPENAI_API_KEY": SECRET})
        assert SECRET not in f"{model.model_id} {model.label} {model!r} {vars(model).keys()}"


def test_importing_the_package_loads_no_sdk():
    code = ("import sys, overmind_jupyter.llm, overmind_jupyter.llm.registry; "
            "print([m for m in sys.modules if m == 'openai' or m.startswith('google.genai')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)
    assert out.stdout.strip() == "[]"


def test_each_sdk_is_imported_in_exactly_one_module():
    root = Path(overmind_jupyter.__file__).parent
    importers: dict[str, set[str]] = {"openai": set(), "genai": set()}
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(root).as_posix()
        if "import openai" in text or "from openai" in text:
            importers["openai"].add(name)
        if "from google import genai" in text or "google.genai" in text.replace(
                "``google.genai``", ""):
            importers["genai"].add(name)
    assert importers == {"openai": {"llm/openai_model.py"}, "genai": {"llm/gemini_model.py"}}


def test_a_missing_sdk_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "overmind_jupyter.llm.openai_model", None)
    with pytest.raises(OvermindError, match="pip install openai"):
        resolve_model("openai:gpt-4.1", env={"OPENAI_API_KEY": SECRET})
