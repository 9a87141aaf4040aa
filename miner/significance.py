"""The tests and intervals behind vsm's findings, each one call of scipy.stats, and the process that runs them.

Importing scipy.stats takes about half a second of CPU, all of it Python
holding the interpreter lock. On a thread beside the load it slowed the
load by about as much as it saved (benchmarks/results.md, stop 25). So a
command that reports findings forks a **helper process** as it begins
(:func:`start_helper`, before any thread and before numpy is imported): the
helper imports scipy.stats on the other core, under its own lock, while
this process imports pandas and loads the export, then runs the functions
below when asked. Their arguments and results are small (counts, p-values,
the differences of one group's hand-offs), sent over a pipe as the worker
processes' are (``multiprocessing.connection``), between this process and
its own fork only.

Each function runs here instead when no helper runs: on a platform without
``fork``, when scipy.stats is imported already, in a process whose threads
have started (tests call commands in one process), or once the helper is
gone (it is never needed for a result: a lost helper means the work is done
here). The helper ends when this process does, as its pipe closes.

Results are the same wherever a function runs: the same scipy call on the
same values, random draws from a generator sent with its state. Warnings
scipy gives in the helper are given again here.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


class _UnparsedDoc:
    """Stands in for scipy's ``FunctionDoc`` during :func:`import_scipy_stats`:
    the sections scipy's decorators add to start empty, and the text is the
    function's own docstring."""

    def __init__(self, func: object, *args: object, **kwargs: object) -> None:
        self._text = getattr(func, "__doc__", None) or ""
        self._sections: dict[str, list[object]] = {}

    def __getitem__(self, section: str) -> list[object]:
        return self._sections.setdefault(section, [])

    def __setitem__(self, section: str, value: list[object]) -> None:
        self._sections[section] = value

    def __str__(self) -> str:
        return "\n" + self._text  # the decorators drop the first line (the signature)


def import_scipy_stats() -> ModuleType:
    """Import ``scipy.stats`` without the docstrings it rewrites while importing.

    Since scipy 1.15 the decorators of a few hundred functions parse and
    rebuild their numpydoc docstrings at import (notes on array-API support,
    ``nan_policy``, ``keepdims``): 0.2 s of the 0.55 s import on the
    benchmark machine (benchmarks/results.md, issue 12). vsm never shows
    scipy's docstrings, so it imports with the parser replaced by
    :class:`_UnparsedDoc`; the functions keep their own docstrings, without
    the added notes. Should scipy's internals differ, or the import fail this
    way, it imports scipy.stats as usual.
    """
    if "scipy.stats" in sys.modules:
        return sys.modules["scipy.stats"]
    try:
        from scipy._lib import _docscrape
    except ImportError:
        return _stats()
    parser = getattr(_docscrape, "FunctionDoc", None)
    if parser is None:
        return _stats()
    stand_in = _UnparsedDoc
    _docscrape.FunctionDoc = stand_in  # type: ignore[attr-defined,misc]
    try:
        return _stats()
    except Exception:  # noqa: BLE001 - any failure: import as usual (the modules that failed are gone from sys.modules)
        pass
    finally:
        # Modules that took the stand-in by name get scipy's parser back.
        for module in list(sys.modules.values()):
            if getattr(module, "FunctionDoc", None) is stand_in:
                module.FunctionDoc = parser
    return _stats()


def _stats() -> ModuleType:
    from scipy import stats

    return stats


# The helper process -----------------------------------------------------------------------------------------

NICENESS = 10  # the helper's: it imports in the gaps the command leaves, not on its critical path (benchmarks/results.md)
READY_WAIT = 3.0  # seconds the first call waits for a helper still importing (a loaded machine), before working here


class _Gone(Exception):
    """The helper cannot answer (still importing after READY_WAIT, its import failed, or it is gone)."""


class _Helper:
    """This process's end of the helper's two pipes (file descriptors, wrapped as connections when first used)."""

    def __init__(self, pid: int, requests_fd: int, replies_fd: int) -> None:
        self.pid = pid
        self.fds = (requests_fd, replies_fd)
        self.requests: Any = None
        self.replies: Any = None
        self.ready = False  # the helper says once whether scipy.stats imported, before its first answer
        self.lock = threading.Lock()  # one call at a time: the groups' tests call from several threads

    def call(self, name: str, args: tuple[Any, ...]) -> tuple[bool, Any, list[tuple[str, type[Warning]]]]:
        with self.lock:
            try:
                if not self.ready:
                    from multiprocessing.connection import Connection

                    self.requests = Connection(self.fds[0], readable=False)
                    self.replies = Connection(self.fds[1], writable=False)
                    if not self.replies.poll(READY_WAIT) or self.replies.recv() is not True:
                        raise _Gone
                    self.ready = True
                self.requests.send((name, args))
                return self.replies.recv()  # type: ignore[no-any-return]
            except Exception as exc:  # noqa: BLE001 - the pipe, not the call (whose errors come as replies); or closed by another thread's stop_helper
                raise _Gone from exc

    def close(self) -> None:
        for stream, fd in zip((self.requests, self.replies), self.fds, strict=True):
            try:
                if stream is not None:
                    stream.close()
                else:
                    os.close(fd)
            except OSError:
                pass
        self.requests = self.replies = None
        try:
            if not self.ready:
                os.kill(self.pid, signal.SIGKILL)  # it may be importing still: its closed pipe would end it only after
            os.waitpid(self.pid, 0)  # a ready helper ends as it reads the end of its pipe
        except OSError:
            pass


_helper: _Helper | None = None


def start_helper() -> bool:
    """Fork the helper process, when this process may (see the module's notes); return whether one runs."""
    global _helper
    if _helper is not None:
        return True
    # Fork only a process that runs nothing else yet: no other thread, and no numpy (whose BLAS starts threads of its own).
    if not hasattr(os, "fork") or "scipy.stats" in sys.modules or "numpy" in sys.modules or threading.active_count() > 1:
        return False
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for fd in (request_r, request_w, reply_r, reply_w):
            os.close(fd)
        return False
    if pid == 0:  # the helper: it never returns from here
        os.close(request_w)
        os.close(reply_r)
        _serve(request_r, reply_w)
    os.close(request_r)
    os.close(reply_w)
    _helper = _Helper(pid, request_w, reply_r)
    return True


def helper_pid() -> int | None:
    """The helper's process id, None when the functions run here."""
    return _helper.pid if _helper is not None else None


def _serve(requests_fd: int, replies_fd: int) -> None:
    """The helper's life: import scipy.stats, then run what is asked until this process's end closes the pipe."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the command, which ends the helper by ending
        os.nice(NICENESS)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # hold no copy of the command's terminal or pipes (`vsm … | head` must see its end)
            os.dup2(devnull, fd)
        from multiprocessing.connection import Connection

        requests, replies = Connection(requests_fd, writable=False), Connection(replies_fd, readable=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the import's own warnings, as on the warm-up thread
            try:
                import_scipy_stats()
                ready = True
            except Exception:  # noqa: BLE001 - the command then works without the helper
                ready = False
        replies.send(ready)
        while ready:
            try:
                name, args = requests.recv()
            except EOFError:
                break
            with warnings.catch_warnings(record=True) as seen:
                try:
                    ok, value = True, _FUNCTIONS[name](*args)
                except BaseException as exc:  # noqa: BLE001 - raised again in the command
                    ok, value = False, exc
            try:
                replies.send((ok, value, [(str(w.message), w.category) for w in seen]))  # pickled whole, then written
            except Exception:  # noqa: BLE001 - an unpicklable result or error: the command makes the call itself
                replies.send((False, _Unsent(), []))
    except BaseException:  # noqa: BLE001 - the helper ends quietly, whatever happened
        code = 1
    finally:
        os._exit(code)


class _Unsent(Exception):
    """The helper could not send its reply: the command makes the call itself."""


def stop_helper() -> None:
    """End the helper and wait for it: from now on every function runs here. At the command's end, its CPU time
    then counts with the command's."""
    global _helper
    helper, _helper = _helper, None
    if helper is not None:
        helper.close()


def _in_helper(func: Callable[..., T]) -> Callable[..., T]:
    """Run ``func`` in the helper when one runs, else here; its name is how the helper finds it."""
    _FUNCTIONS[func.__name__] = func

    @functools.wraps(func)
    def call(*args: Any) -> T:
        helper = _helper
        if helper is None:
            return func(*args)
        try:
            ok, value, seen = helper.call(func.__name__, args)
        except _Gone:
            stop_helper()
            return func(*args)
        if not ok and isinstance(value, _Unsent):
            return func(*args)
        for message, category in seen:
            warnings.warn(message, category, stacklevel=2)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    return call


# The functions ---------------------------------------------------------------------------------------------


@_in_helper
def wilson_interval(k: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of ``k`` successes in ``n`` trials (scipy's binomtest)."""
    ci = _stats().binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


@_in_helper
def bh_adjusted(p_values: Any) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (scipy's false_discovery_control), in the order given (none for none)."""
    import numpy as np

    if len(p_values) == 0:
        return []
    return [float(p) for p in _stats().false_discovery_control(np.asarray(p_values, dtype=np.float64), method="bh")]


@_in_helper
def fisher_greater(tables: list[tuple[int, int, int, int]]) -> list[float]:
    """Per 2×2 table ``(a, b, c, d)`` = [[a, b], [c, d]]: the one-sided ("greater") p-value of Fisher's exact test."""
    stats = _stats()
    return [float(stats.fisher_exact([[a, b], [c, d]], alternative="greater").pvalue) for a, b, c, d in tables]


@_in_helper
def mannwhitney_greater(x: Any, y: Any) -> float:
    """The one-sided p-value of the Mann–Whitney U test that ``x`` tends to exceed ``y``."""
    return float(_stats().mannwhitneyu(x, y, alternative="greater").pvalue)


@_in_helper
def t_interval(values: Any) -> tuple[float, float]:
    """The 95% t interval of the mean of ``values`` (scipy's ttest_1samp)."""
    interval = _stats().ttest_1samp(values, 0.0).confidence_interval(0.95)
    return float(interval.low), float(interval.high)


@_in_helper
def bootstrap_mean_interval(values: Any, resamples: int, batch: int, rng: Any) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of ``values`` (scipy's bootstrap, drawing from ``rng``)."""
    import numpy as np

    boot = _stats().bootstrap((values,), np.mean, n_resamples=resamples, vectorized=True, method="percentile",
                              batch=batch, rng=rng)
    return float(boot.confidence_interval.low), float(boot.confidence_interval.high)


@_in_helper
def normal_sf(z: float) -> float:
    """The standard normal's survival function at ``z``: a one-sided p-value."""
    return float(_stats().norm.sf(z))
