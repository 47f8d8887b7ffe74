"""Preferences: typed QSettings getters/setters and the dialog that edits them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from studio.core.paths import user_models_dir
from studio.engine.runtime import DeviceError, default_threads
from studio.ui import preferences as prefs
from studio.ui.preferences import Preferences, load_preferences, save_preferences, settings
from studio.ui.preferences_dialog import PreferencesDialog


def _dialog(qtbot) -> PreferencesDialog:
    dialog = PreferencesDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _ok(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)


def test_defaults_on_first_run(user_dir):
    assert load_preferences() == Preferences(device="auto", threads=0, autosave_s=60,
                                             user_models=user_dir / "models", theme="dark")


def test_setters_round_trip_through_qsettings(tmp_path):
    prefs.save_device("cpu")
    prefs.save_threads(3)
    prefs.save_autosave_interval(0)
    prefs.save_user_models_dir(tmp_path / "mine")
    prefs.save_theme("dark")
    assert load_preferences() == Preferences("cpu", 3, 0, tmp_path / "mine", "dark")
    settings().sync()
    assert (tmp_path / "settings").is_dir()  # written to the test's own folder, not the user's


def test_bad_values_are_refused_and_garbage_reads_as_default():
    with pytest.raises(DeviceError):
        prefs.save_device("tpu")
    for setter, value in ((prefs.save_threads, -1), (prefs.save_autosave_interval, 10**9),
                          (prefs.save_user_models_dir, "relative/models"), (prefs.save_theme, "neon")):
        with pytest.raises(ValueError) as info:
            setter(value)
        assert "\n" not in str(info.value)
    stored = settings()  # as a hand-edited or future ini file might hold
    for key, value in ((prefs.DEVICE_KEY, "tpu"), (prefs.THREADS_KEY, "many"), (prefs.AUTOSAVE_KEY, "-5"),
                       (prefs.THEME_KEY, "neon")):
        stored.setValue(key, value)
    assert load_preferences() == Preferences()


def test_the_default_model_folder_is_not_pinned(tmp_path, monkeypatch):
    prefs.save_user_models_dir(user_models_dir())
    assert settings().value(prefs.USER_MODELS_KEY) is None
    monkeypatch.setenv("STUDIO_USER_DIR", str(tmp_path / "elsewhere"))
    assert prefs.saved_user_models_dir() == tmp_path / "elsewhere" / "models"


def test_save_preferences_reports_what_changed(tmp_path):
    assert save_preferences(Preferences()) == set()
    changed = save_preferences(Preferences(device="cuda", threads=2, user_models=tmp_path))
    assert changed == {"device", "threads", "user_models"}
    with pytest.raises(ValueError):
        save_preferences(Preferences(device="cpu", threads=-3))
    assert prefs.saved_device() == "cuda"  # nothing of the refused set was written


def test_dialog_shows_stored_values(qtbot, tmp_path):
    prefs.save_device("cpu")
    prefs.save_threads(4)
    prefs.save_autosave_interval(120)
    prefs.save_user_models_dir(tmp_path / "models")
    dialog = _dialog(qtbot)
    assert dialog.device_combo.currentData() == "cpu"
    assert dialog.threads_spin.value() == 4 and dialog.autosave_spin.value() == 120
    assert dialog.folder_edit.text() == str(tmp_path / "models")
    assert dialog.preferences() == load_preferences()


def test_dialog_special_values_read_as_words(qtbot, user_dir):
    dialog = _dialog(qtbot)
    assert dialog.threads_spin.text() == f"Automatic ({default_threads()})"
    dialog.autosave_spin.setValue(0)
    assert dialog.autosave_spin.text() == "Off"
    assert dialog.folder_edit.text() == "" and dialog.folder_edit.placeholderText() == str(user_dir / "models")


def test_ok_writes_and_tells_which_keys_changed(qtbot, tmp_path):
    dialog = _dialog(qtbot)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    dialog.threads_spin.selectAll()
    qtbot.keyClicks(dialog.threads_spin, "2")
    dialog.autosave_spin.selectAll()
    qtbot.keyClicks(dialog.autosave_spin, "0")
    qtbot.keyClicks(dialog.folder_edit, str(tmp_path / "my models"))
    with qtbot.waitSignal(dialog.changed) as signal:
        _ok(qtbot, dialog)
    assert signal.args == [["autosave_s", "device", "threads", "user_models"]]
    assert dialog.result() == QDialog.Accepted
    assert load_preferences() == Preferences("cpu", 2, 0, tmp_path / "my models", "dark")

    # Reopened: the same values; OK without edits changes nothing.
    again = _dialog(qtbot)
    assert again.preferences() == load_preferences()
    with qtbot.assertNotEmitted(again.changed):
        _ok(qtbot, again)
    assert again.changed_keys == set()

    # "Default" empties the folder field, which means the default folder again.
    third = _dialog(qtbot)
    qtbot.mouseClick(third.reset_button, Qt.LeftButton)
    _ok(qtbot, third)
    assert third.changed_keys == {"user_models"} and prefs.saved_user_models_dir() == user_models_dir()


def test_cancel_writes_nothing(qtbot):
    dialog = _dialog(qtbot)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cuda"))
    dialog.autosave_spin.setValue(300)
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.Cancel), Qt.LeftButton)
    assert dialog.result() == QDialog.Rejected
    assert load_preferences() == Preferences()


def test_a_refused_value_keeps_the_dialog_open(qtbot, message_boxes):
    dialog = _dialog(qtbot)
    qtbot.keyClicks(dialog.folder_edit, "relative/models")
    _ok(qtbot, dialog)
    assert message_boxes.pop() == ("Preferences", "the model folder must be a full path, got 'relative/models'")
    assert dialog.isVisible() and dialog.result() != QDialog.Accepted
    assert settings().value(prefs.USER_MODELS_KEY) is None
