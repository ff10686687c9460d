"""A file written by a background thread (present/writebehind.py): the same bytes in the same order, a write's
error raised in the caller's thread, the caller's error dropping the rest."""

import io
import threading

import pytest

from cxinfluence.present.writebehind import WriteBehind, write_behind


class Slow(io.BytesIO):
    """Records which thread wrote; fails on the ``fail_at``-th write."""

    def __init__(self, fail_at=None):
        super().__init__()
        self.calls, self.threads, self.fail_at = 0, set(), fail_at

    def write(self, data):
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.calls == self.fail_at:
            raise OSError(28, "No space left on device")
        return super().write(data)


def test_blocks_are_written_in_order_by_another_thread():
    raw = Slow()
    blocks = [bytes([i % 256]) * (1000 + i) for i in range(200)]
    with write_behind(raw) as f:
        for b in blocks:
            f.write(memoryview(b))
    assert raw.getvalue() == b"".join(blocks)
    assert raw.threads and threading.get_ident() not in raw.threads


def test_a_write_error_reaches_the_caller():
    raw = Slow(fail_at=3)
    with pytest.raises(OSError, match="No space"):
        with write_behind(raw) as f:
            for i in range(100):
                f.write(b"x" * 10)
    assert raw.calls == 3  # nothing written after the error


def test_the_callers_error_drops_the_rest_and_propagates():
    raw = Slow()
    f = WriteBehind(raw)
    f.write(b"a")
    f.close(drop=True)  # nothing raised: the caller has its own error to report
    with pytest.raises(ValueError, match="mine"):
        with write_behind(Slow()) as g:
            g.write(b"b")
            raise ValueError("mine")
