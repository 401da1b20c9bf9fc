"""Writes a zlib preset dictionary for stored workflow states (app/models/state_dictionary.py).

A workflow state is JSON of the same shape every time (task trees of SpiffWorkflow 1.5 with the
same keys, the same task names); zlib primed with typical states compresses a 10 KiB open state
to about 1.1 KiB instead of 1.7 KiB, and a finished one to about 0.4 KiB instead of 0.8 KiB.

The states come from the shipped processes' test cases (workflows_tests/, test data only, no
person's data): the smallest state of every process, then the largest and the smallest finished
one of 注册 (the most frequent; zlib finds text near the end of a dictionary cheapest).

A shipped dictionary never changes: stored rows name it (zlib writes the dictionary's Adler-32
in the stream) and can only be read with it. To ship a better one, write it under a new name and
add it to ``DICTIONARIES`` (app/models/compact.py), which writes with the newest and reads all.

    .venv/bin/python bench/state_dictionary.py > /tmp/d.py   # then review and add as a new constant
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAX = 32 * 1024  # zlib's window: a longer dictionary is cut from the front


class _Capture:
    """A pytest plugin that records every state the case runner dumps, by process."""

    def __init__(self) -> None:
        self.states: dict[str, list[str]] = {}

    def pytest_configure(self, config: Any) -> None:
        from app.workflow import engine
        original = engine.Runtime.dump

        def dump(rt: Any) -> str:
            state: str = original(rt)
            self.states.setdefault(rt.definition.process_id, []).append(state)
            return state

        engine.Runtime.dump = dump  # type: ignore[method-assign]


def build(states: dict[str, list[str]]) -> bytes:
    others = [min(v, key=len) for p, v in sorted(states.items()) if p != "registration"]
    reg = states["registration"]
    finished = [s for s in reg if '"completed": true' in s]
    text = "".join(others) + max(reg, key=len) + min(finished, key=len)
    return text.encode("utf-8")[-MAX:]


def main() -> None:
    import pytest
    capture = _Capture()
    code = pytest.main([str(ROOT / "workflows_tests" / "test_cases.py"), "-q", "-p", "no:randomly",
                        "-p", "no:cacheprovider"], plugins=[capture])
    if code != 0:
        raise SystemExit(f"the test cases failed ({code})")
    data = build(capture.states)
    print(f"# {len(data)} bytes, adler32 {zlib.adler32(data)}")
    print("DICTIONARY = (")
    for i in range(0, len(data), 96):
        print(f"    {data[i:i + 96]!r}")
    print(")")


if __name__ == "__main__":
    main()
