"""Output-folder hygiene of `report` / run_report and the other subcommands.

Re-runs remove only their own earlier outputs, stale staging folders go, SIGTERM cleans up
like Ctrl-C, and unwritable targets or a full disk are one-line typed errors (exit 2).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bandung_mapping import cli, sample
from bandung_mapping.errors import OutputError
from bandung_mapping.outputs import STAGING_PREFIX, StagedOutput, _host_tag, atomic_write, check_output_dir
from bandung_mapping.pipeline import run_report

USER_TEXT = "my own file, not written by bandung-mapping\n"


def _staging(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX)]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --------------------------------------------------------------------------- re-runs
@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_user_files_of_output_names_survive_a_rerun(sample_study, tmp_path, monkeypatch, relative):
    out = tmp_path / "out"
    out.mkdir()
    # the user's own files, some named like outputs this kind of run may write, no run.json yet
    for name in ("ndvi.tif", "candidate_sites.csv", "report.pdf", "indicators_kota.parquet", "notes.txt"):
        (out / name).write_text(USER_TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    target = Path("out") if relative else out
    run_report(sample_study, target, progress=False)
    run_report(sample_study, target, progress=False)  # now with the first run's run.json
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for name in ("ndvi.tif", "candidate_sites.csv", "report.pdf", "notes.txt"):
        if name not in info["outputs"]:
            assert (out / name).read_text(encoding="utf-8") == USER_TEXT, name
    assert (out / "report.pdf").read_text(encoding="utf-8") == USER_TEXT  # no --pdf: not this run's
    assert (out / "notes.txt").read_text(encoding="utf-8") == USER_TEXT
    assert not _staging(out)


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_rerun_removes_files_the_previous_run_json_lists(sample_study, tmp_path, monkeypatch, relative):
    out = tmp_path / "out"
    run_report(sample_study, out, progress=False)
    # pretend the previous run wrote more files than this one will
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    extra = ["report.pdf", "per_kecamatan/index.html", "per_kecamatan/a.html"]
    (out / "per_kecamatan").mkdir()
    for name in extra:
        (out / name).write_text("old output\n", encoding="utf-8")
    (out / "map_notes.txt").write_text(USER_TEXT, encoding="utf-8")  # not listed: the user's
    outside = tmp_path / "outside.txt"
    outside.write_text(USER_TEXT, encoding="utf-8")
    info["outputs"] += [*extra, "../outside.txt", str(outside), "/etc/hostname", ""]
    (out / "run.json").write_text(json.dumps(info), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    run_report(sample_study, Path("out") if relative else out, progress=False)
    for name in extra:
        assert not (out / name).exists(), name
    assert not (out / "per_kecamatan").exists(), "emptied folder of the earlier run left behind"
    assert (out / "map_notes.txt").read_text(encoding="utf-8") == USER_TEXT
    assert outside.read_text(encoding="utf-8") == USER_TEXT
    assert (out / "map.html").is_file() and (out / "indicators_kota.csv").is_file()


def test_a_run_json_not_written_by_the_tool_removes_nothing(sample_study, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.pdf").write_text(USER_TEXT, encoding="utf-8")
    (out / "run.json").write_text(json.dumps({"outputs": ["report.pdf"]}), encoding="utf-8")
    run_report(sample_study, out, progress=False)
    assert (out / "report.pdf").read_text(encoding="utf-8") == USER_TEXT


def test_commit_never_deletes_outside_the_folder_through_a_symlink(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (elsewhere / "a.txt").write_text(USER_TEXT, encoding="utf-8")
    (out / "link").symlink_to(elsewhere, target_is_directory=True)
    (out / "b.txt").symlink_to(elsewhere / "a.txt")
    with StagedOutput(out) as staged:
        staged.path("new.txt").write_text("x", encoding="utf-8")
        staged.commit(replaces=["link/a.txt", "b.txt", "link"])
    assert (elsewhere / "a.txt").read_text(encoding="utf-8") == USER_TEXT
    assert (out / "link").is_symlink() and (out / "b.txt").is_symlink()


# --------------------------------------------------------------------------- staging folders
def test_stale_staging_folders_are_removed_by_the_next_run(sample_study, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f"{STAGING_PREFIX}{_host_tag()}-{_dead_pid()}-abcd1234"  # a killed run of this host
    old = out / f"{STAGING_PREFIX}q1w2e3r4"  # an old-style name, days old
    alive = out / f"{STAGING_PREFIX}{_host_tag()}-{os.getpid()}-zzzz9999"  # a run still going
    foreign = out / ".staging-mine"  # not the tool's name pattern
    for d in (dead, old, alive, foreign):
        d.mkdir()
        (d / "map.html").write_text("partial", encoding="utf-8")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    os.utime(foreign, (week_ago, week_ago))
    run_report(sample_study, out, progress=False)
    left = sorted(_staging(out))
    assert left == sorted([alive.name, foreign.name])


def test_own_staging_folder_is_kept_until_commit(tmp_path):
    with StagedOutput(tmp_path) as staged:
        staged.path("a.txt").write_text("x", encoding="utf-8")
        assert staged.remove_stale_stages(now=time.time() + 10 * 24 * 3600) == []
        assert staged.stage.is_dir()
        staged.commit()
    assert not _staging(tmp_path) and (tmp_path / "a.txt").is_file()


def _report_cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "bandung_mapping.cli", "report", "--out", str(out)]


def test_sigterm_removes_staging_and_exits_like_ctrl_c(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(_report_cmd(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.is_dir() and _staging(out)):  # wait for the run to stage
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    time.sleep(2)
    if proc.poll() is not None:
        pytest.skip("the report finished before SIGTERM could be sent")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert "interrupted" in err
    assert not _staging(out)
    assert not (out / "run.json").exists()


# --------------------------------------------------------------------------- unwritable / disk full
def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    return err


@pytest.mark.parametrize("argv", [
    ["sample", "--out", "/proc/x"],
    ["report", "--out", "/proc/x"],
    ["compare", "A", "B", "--out", "/proc/x"],
    ["batch", "missing.toml", "--out", "/proc/x"],
], ids=["sample", "report", "compare", "batch"])
def test_unwritable_folder_is_exit_2_with_a_message(argv, capsys):
    assert cli.main(["--quiet", *argv]) == 2
    assert "/proc/x" in _one_line_error(capsys)


@pytest.mark.parametrize("out", ["/proc/x/ndvi.tif", "/proc/ndvi.tif"])
def test_ndvi_to_an_unwritable_place_is_exit_2(sample_dir, out, capsys):
    files = sample.sample_files(sample_dir)
    assert cli.main(["ndvi", "--red", str(files["red"]), "--nir", str(files["nir"]), "--out", out]) == 2
    assert "/proc" in _one_line_error(capsys)


def test_unwritable_folder_via_the_console_script(tmp_path):
    r = subprocess.run([sys.executable, "-m", "bandung_mapping.cli", "sample", "--out", "/proc/x"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.strip().startswith("error: cannot write")


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_in_a_writer_is_an_output_error(tmp_path):
    def writer(tmp: Path) -> None:
        tmp.write_text("partial", encoding="utf-8")
        _enospc()

    with pytest.raises(OutputError, match="disk full") as info:
        atomic_write(tmp_path / "a.csv", writer)
    assert isinstance(info.value, OSError) and "\n" not in str(info.value)
    assert os.listdir(tmp_path) == [], "temporary file left behind"


def test_disk_full_during_report_is_exit_2_and_leaves_folder_clean(tmp_path, monkeypatch, capsys):
    import bandung_mapping.pipeline as pipeline

    def full_disk_json(path, data):
        return atomic_write(path, lambda tmp: (tmp.write_text("{", encoding="utf-8"), _enospc()))

    monkeypatch.setattr(pipeline, "write_json", full_disk_json)
    out = tmp_path / "out"
    assert cli.main(["--quiet", "report", "--out", str(out)]) == 2
    assert "disk full" in _one_line_error(capsys)
    assert os.listdir(out) == []


@pytest.mark.parametrize("command,target", [
    ("sample", "bandung_mapping.sample.write_sample"),
    ("ndvi", "bandung_mapping.raster.write_ndvi"),
    ("compare", "bandung_mapping.compare.compare_runs"),
    ("batch", "bandung_mapping.batch.run_batch"),
])
def test_disk_full_is_exit_2_for_every_subcommand(command, target, sample_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(target, _enospc)
    files = sample.sample_files(sample_dir)
    argv = {
        "sample": ["sample", "--out", str(tmp_path)],
        "ndvi": ["ndvi", "--red", str(files["red"]), "--nir", str(files["nir"]), "--out", str(tmp_path / "n.tif")],
        "compare": ["compare", "a", "b", "--out", str(tmp_path)],
        "batch": ["batch", "c.toml", "--out", str(tmp_path)],
    }[command]
    assert cli.main(["--quiet", *argv]) == 2
    assert "disk full" in _one_line_error(capsys)


def test_check_output_dir_messages(tmp_path):
    f = tmp_path / "file"
    f.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="not a folder"):
        check_output_dir(f)
    with pytest.raises(OutputError, match="does not exist"):
        check_output_dir(tmp_path / "missing", create=False)
    with pytest.raises(OutputError, match="cannot write into output folder /proc/x"):
        check_output_dir("/proc/x")
