"""Concurrency: readers in other processes never see a torn or mixed set while sets change.

A writer process promotes set A and set B alternately; three reader processes load the live set
with the registry over and over, and two plain readers open the seed paths directly, as the
seed's `pickle.load(open("models/training/..."))` snippets do. Each registry load must be one
whole set: the bytes actually unpickled are exactly the files its metadata names, model_hash is
the hash of those and one the writer promoted, the ensemble's model_version names the same set,
and (every tenth load) every model predicts like that set. Each plain read must find every file,
and when `current` named the same set before and after the read, every byte must be that set's.
The helper imports once and forks the writer and the readers, to save ~3 s of imports each.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from collections import Counter

import pytest

from src.config import REPO_ROOT

READERS = 3
LOADS_PER_READER = 150
PLAIN_READERS = 2
MIN_PAUSE_BETWEEN_PROMOTIONS_S = 0.05

HELPER = textwrap.dedent(
    '''
    """Forks a writer (promote A and B alternately until told to stop) and readers (load, check)."""
    import hashlib
    import json
    import os
    import pickle
    import sys
    import time
    import traceback
    from pathlib import Path

    import numpy as np

    from src.registry import reading, store
    from src.registry.paths import ARTIFACTS, METADATA
    from src.registry.verify import SET_FILE_PATHS, set_hash


    def wait_for(path, timeout_s=120):
        deadline = time.monotonic() + timeout_s
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not appear within {timeout_s}s")
            time.sleep(0.001)


    def writer(models_dir, sets_path, go, stop, pause_s):
        sets = pickle.loads(sets_path.read_bytes())  # label -> (models, ensemble, metadata)
        registry = store.Registry(models_dir)
        labels = sorted(sets)
        promoted = {label: [] for label in labels}
        errors = []

        def promote(label):
            try:
                written = registry.promote(*sets[label])
                promoted[label].append(written.version_control.model_hash)
            except Exception:
                errors.append(traceback.format_exc())

        promote(labels[0])  # readers start on a set this process wrote
        say("ready")
        wait_for(go)
        count = 1
        while not stop.exists():
            started = time.perf_counter()
            promote(labels[count % len(labels)])
            count += 1
            # Leave the lock free at least as long as it was held: filelock is not fair.
            time.sleep(max(pause_s, time.perf_counter() - started))
        hashes = {label: sorted(set(values)) for label, values in promoted.items()}
        return {"promotions": count, "hashes": hashes, "errors": errors}


    class RecordingPickle:
        """Stands in for the store's pickle module: notes the sha256 of every blob unpickled."""

        def __init__(self):
            self.unpickled = []

        def load(self, file):
            data = file.read()
            self.unpickled.append("sha256:" + hashlib.sha256(data).hexdigest())
            return pickle.loads(data)

        def __getattr__(self, name):
            return getattr(pickle, name)


    def check(model_set, unpickled, probe, expected, predict):
        """The problem with one loaded set, or None if every part belongs to the same set."""
        metadata, ensemble = model_set.metadata, model_set.ensemble
        pickled = [metadata.file_hashes[name] for name in ARTIFACTS]
        if sorted(unpickled) != sorted(pickled):
            return f"unpickled {unpickled}, but the metadata names {pickled}"
        if set_hash(metadata.file_hashes) != metadata.version_control.model_hash:
            return "model_hash is not the hash of the file_hashes"
        label = ensemble.model_version
        if label not in expected:
            return f"unknown ensemble {label!r}"
        if not predict:
            return None
        predictions = {"ensemble": ensemble.predict_proba(probe)[:, 1]}
        for name, model in model_set.models.items():
            predictions[name] = model.predict_proba(probe)[:, 1]
        for name, values in predictions.items():
            if not np.array_equal(values, expected[label][name]):
                return f"{name} of a set labelled {label} predicts like another set"
        return None


    def reader(models_dir, probe_path, go, loads):
        probe, expected = pickle.loads(probe_path.read_bytes())
        recorder = reading.pickle = RecordingPickle()
        registry = store.Registry(models_dir)
        say("ready")
        wait_for(go)
        started = time.perf_counter()
        seen, errors = {}, []
        for index in range(loads):
            recorder.unpickled = []
            try:
                model_set = registry.load()
                # Predicting is slow next to loading, so every tenth set is checked that way too.
                predict = index % 10 == 0
                problem = check(model_set, recorder.unpickled, probe, expected, predict)
                model_hash = model_set.metadata.version_control.model_hash
            except Exception:
                problem = traceback.format_exc()
            if problem:
                errors.append(problem)
            else:
                key = f"{model_set.ensemble.model_version} {model_hash}"
                seen[key] = seen.get(key, 0) + 1
        elapsed_s = time.perf_counter() - started
        return {"loads": loads, "seen": seen, "errors": errors, "elapsed_s": elapsed_s}


    def plain_read(models_dir):
        """The seed paths' bytes as a reader that just opens them sees them, or a problem."""
        before = os.readlink(models_dir / "current")
        try:
            files = {name: (models_dir / rel).read_bytes() for name, rel in SET_FILE_PATHS.items()}
            metadata = json.loads((models_dir / METADATA).read_bytes())
        except OSError:
            return None, traceback.format_exc()
        after = os.readlink(models_dir / "current")
        if before != after:
            return "switched during the read", None  # each file was whole; the set moved on
        hashes = {
            name: "sha256:" + hashlib.sha256(data).hexdigest() for name, data in files.items()
        }
        if hashes != metadata["file_hashes"]:
            return None, f"files of another set than the metadata at {before}"
        return metadata["version_control"]["model_hash"], None


    def plain_reader(models_dir, go, reads):
        say("ready")
        wait_for(go)
        seen, errors = {}, []
        for _ in range(reads):
            outcome, problem = plain_read(models_dir)
            if problem:
                errors.append(problem)
            else:
                seen[outcome] = seen.get(outcome, 0) + 1
        return {"loads": reads, "seen": seen, "errors": errors}


    def say(line):
        # One write(2) per line: a pipe delivers writes under PIPE_BUF whole, so the lines of
        # several processes never interleave (print() may split them, e.g. when unbuffered).
        os.write(1, (line + "\\n").encode())


    def run_child(name, workdir, models_dir, loads, pause_s):
        go = workdir / "go"
        if name == "writer":
            result = writer(models_dir, workdir / "sets.pkl", go, workdir / "stop", pause_s)
        elif name.startswith("plain"):
            result = plain_reader(models_dir, go, loads * 10)  # a plain read is ~10x cheaper
        else:
            result = reader(models_dir, workdir / "probe.pkl", go, loads)
        (workdir / f"{name}.json").write_text(json.dumps(result))


    def fork(name, *args):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run_child(name, *args)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return pid


    def exit_code(pid):
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


    # Imports are paid once here; the writer and each reader are forked processes of their own.
    workdir, models_dir = Path(sys.argv[1]), Path(sys.argv[2])
    readers, plain_readers = int(sys.argv[3]), int(sys.argv[4])
    loads, pause_s = int(sys.argv[5]), float(sys.argv[6])
    args = (workdir, models_dir, loads, pause_s)
    writer_pid = fork("writer", *args)
    reader_pids = [fork(f"reader{index}", *args) for index in range(readers)]
    reader_pids += [fork(f"plain{index}", *args) for index in range(plain_readers)]
    codes = [exit_code(pid) for pid in reader_pids]
    (workdir / "stop").touch()
    codes.append(exit_code(writer_pid))
    sys.exit(max(map(abs, codes)))
    '''
)


def _expected_predictions(trained_set, labels, probe) -> dict[str, dict]:
    expected = {}
    for label in labels:
        trained = trained_set(label)
        expected[label] = {"ensemble": trained.ensemble.predict_proba(probe)[:, 1]}
        for name, model in trained.models.items():
            expected[label][name] = model.predict_proba(probe)[:, 1]
    return expected


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_readers_see_whole_sets_while_a_writer_promotes(tmp_path, trained_set):
    labels = ("A", "B")
    script = tmp_path / "registry_helper.py"
    script.write_text(HELPER)
    models_dir, go = tmp_path / "models", tmp_path / "go"
    (tmp_path / "sets.pkl").write_bytes(
        pickle.dumps({label: trained_set(label).parts() for label in labels}, protocol=5)
    )
    probe = trained_set("A").probe
    expected = _expected_predictions(trained_set, labels, probe)
    (tmp_path / "probe.pkl").write_bytes(pickle.dumps((probe, expected)))

    process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), str(models_dir), str(READERS),
         str(PLAIN_READERS), str(LOADS_PER_READER), str(MIN_PAUSE_BETWEEN_PROMOTIONS_S)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        for _ in range(READERS + PLAIN_READERS + 1):
            assert process.stdout.readline().strip() == "ready"
        go.touch()
        assert process.wait(timeout=240) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    written = json.loads((tmp_path / "writer.json").read_text())
    results = [
        json.loads((tmp_path / f"reader{index}.json").read_text()) for index in range(READERS)
    ]
    errors = written["errors"] + [error for result in results for error in result["errors"]]
    assert errors == []
    seen = Counter()
    for result in results:
        seen.update(result["seen"])
    slowest_s = max(result["elapsed_s"] for result in results)
    print(f"{written['promotions']} promotions; {sum(seen.values())} loads in {slowest_s:.1f}s")
    assert sum(seen.values()) == READERS * LOADS_PER_READER
    assert written["promotions"] >= 10
    for key in seen:
        label, model_hash = key.split()
        assert model_hash in written["hashes"][label], f"{key}: a set the writer never promoted"
    assert {key.split()[0] for key in seen} == set(labels), "readers never saw a promotion land"

    plain = [
        json.loads((tmp_path / f"plain{index}.json").read_text()) for index in range(PLAIN_READERS)
    ]
    assert [error for result in plain for error in result["errors"]] == []
    plain_seen = Counter()
    for result in plain:
        plain_seen.update(result["seen"])
    print(f"plain reads: {dict(plain_seen)}")
    promoted = {value for values in written["hashes"].values() for value in values}
    whole = {key: count for key, count in plain_seen.items() if key in promoted}
    assert len(whole) == 2, f"plain readers did not read both sets whole: {dict(plain_seen)}"
    assert set(plain_seen) <= promoted | {"switched during the read"}
