"""Start switch workers forked after numpy/numba (like `centralino up`) or spawned."""

# Used by bench.worker_memory (the calls benchmark) to measure copy-on-write sharing: ``--mode
# fork`` forks the children from this process (after importing numpy and numba with
# ``--preload``, and ``gc.freeze()`` with ``--freeze``); ``--mode spawn`` starts fresh
# interpreters (importing numba themselves with ``--preload``). Children run
# ``telephony.worker.main`` on OS-chosen SIP and API ports; the
# ``workers`` table records them and each child's pid. SIGTERM stops the children, then us.

from __future__ import annotations

import argparse
import gc
import multiprocessing
import signal
import sys
import threading

from telephony.testing.ports import rtp_base


def preload() -> None:
    import numba  # noqa: F401  (what a DSP-using worker would import anyway)
    import numpy  # noqa: F401


def run_worker(argv: list[str], import_first: bool) -> None:
    if import_first:
        preload()
    from telephony import worker

    sys.exit(worker.main(argv))


def worker_argv(config: str, index: int, prefix: str) -> list[str]:
    """Arguments of worker *index*: free ports, its own RTP range."""
    return [
        "--config", config, "--index", str(index), "--name", f"{prefix}-{index}",
        "--sip-port", "0", "--api-port", "0", "--rtp-port", str(rtp_base(100)),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--count", type=int, default=2)
    parser.add_argument("--prefix", default="forked")
    parser.add_argument("--mode", choices=("fork", "spawn"), default="fork")
    parser.add_argument("--preload", action="store_true", help="import numpy and numba first")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() before forking")
    args = parser.parse_args(argv)
    forking = args.mode == "fork"
    if forking and args.preload:
        preload()
    if args.freeze:
        gc.freeze()  # imported objects leave the collector's lists: fewer pages copied on write
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    context = multiprocessing.get_context(args.mode)
    children = [
        context.Process(
            target=run_worker,
            args=(worker_argv(args.config, n, args.prefix), args.preload and not forking),
        )
        for n in range(1, args.count + 1)
    ]
    for child in children:
        child.start()
    stop.wait()
    for child in children:
        child.terminate()
    for child in children:
        child.join(15)
        if child.exitcode is None:
            child.kill()
            child.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
