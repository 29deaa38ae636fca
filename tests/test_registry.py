"""The plugin registry: built-ins, plain-file plugins, entry points, collisions."""

from __future__ import annotations

import importlib.metadata
import textwrap

import pytest

from suite import registry
from suite.api import Regime
from suite.registry import RegistryError, class_registry, load_plugin_file

PLUGIN = textwrap.dedent(
    '''
    from suite.api import Regime
    from suite.registry import regimes

    @regimes.register
    class {cls}(Regime):
        """A test regime."""
        name = "{name}"
        version = "0.1"
        description = "test regime"

        def train(self, ctx):
            ctx.fit(ctx.network.composed(), ctx.data.train.x, ctx.data.train.y, epochs=1)
    '''
)


def test_builtins_are_registered():
    assert {"e2e", "layerwise", "layerwise-seq"} <= set(registry.regimes.names())
    assert {"digits-mlp", "digits-cnn"} <= set(registry.tasks.names())


def test_plugin_file_registers_a_regime(tmp_path):
    path = tmp_path / "my_regime.py"
    path.write_text(PLUGIN.format(cls="MyRegime", name="test-plugin-regime"))
    load_plugin_file(path)
    assert registry.regimes.get("test-plugin-regime").version == "0.1"


def test_plugin_reusing_a_builtin_name_is_a_collision(tmp_path):
    path = tmp_path / "clash.py"
    path.write_text(PLUGIN.format(cls="Clash", name="e2e"))
    with pytest.raises(RegistryError, match="duplicate regime name 'e2e'"):
        load_plugin_file(path)


def test_missing_plugin_file_is_a_clear_error(tmp_path):
    with pytest.raises(RegistryError, match="does not exist"):
        load_plugin_file(tmp_path / "nope.py")


def test_plugin_with_an_import_error_is_reported(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import not_a_module_anywhere\n")
    with pytest.raises(RegistryError, match="failed to import: ModuleNotFoundError"):
        load_plugin_file(path)


def test_entry_points_are_loaded(monkeypatch):
    class FromEntryPoint(Regime):
        name = "from-entry-point"
        version = "2.0"
        description = "registered through an entry point"

        def train(self, ctx):  # pragma: no cover - never run
            raise NotImplementedError

    class FakeEntryPoint:
        name, value = "fep", "somepkg:FromEntryPoint"

        def load(self):
            return FromEntryPoint

    def fake_entry_points(group):
        return [FakeEntryPoint()] if group == "e2ebench.regimes" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    fresh = class_registry("regime", Regime, ("regimes",), "e2ebench.regimes")
    assert fresh.get("from-entry-point") is FromEntryPoint


def test_registering_a_class_without_a_name_fails():
    class Nameless(Regime):
        def train(self, ctx):  # pragma: no cover
            pass

    with pytest.raises(RegistryError, match="must set the class attribute 'name'"):
        class_registry("regime", Regime, ("regimes",), "e2ebench.regimes").register(Nameless)
