"""Running the analysis: one call right after hang-up, and ``centralino analytics`` for the rest.

The switch worker calls `analyse_call` on its closing pool once the call's transcript is
stored (off the media path). The runner command catches up on every ended call that has no
analysis yet (a worker that died, a flow without transcripts) and re-summarises calls whose
agent wrote their notes and wrap-up code after the analysis ran.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select

from analytics.facts import gather
from analytics.measures import measure
from analytics.summary import summarise
from store.analytics_tables import CallAnalytics, CallSummary
from store.db import Database
from store.models import Call, Interaction, utcnow

log = logging.getLogger("analytics")

#: an ended call gets this long for its worker to store the transcript before the runner takes it
GRACE_SECONDS = 15.0
BATCH = 200


def analyse_call(db: Database, call_id: str) -> bool:
    """Measure and summarise one ended call, replacing what was stored; False: not ended."""
    started = time.process_time()
    with db.session() as session:
        facts = gather(session, call_id)
        if facts is None:
            return False
        measures = measure(facts)
        summary = summarise(facts)
        cpu = time.process_time() - started
        row = session.get(CallAnalytics, call_id) or CallAnalytics(call_id=call_id)
        for name, value in measures.columns().items():
            setattr(row, name, value)
        row.locale, row.queue, row.agent_id = facts.locale[:8], facts.queue, facts.agent_id
        row.analysed_at, row.cpu_seconds = utcnow(), round(cpu, 6)
        session.merge(row)
        written = session.get(CallSummary, call_id) or CallSummary(call_id=call_id)
        written.reason, written.text, written.written_at = summary.reason, summary.text, utcnow()
        written.actions = [{"kind": a.kind, "text": a.text} for a in summary.actions]
        session.merge(written)
    log.info("analytics call=%s cpu_ms=%.1f", call_id, cpu * 1000)
    return True


def pending_calls(db: Database, grace: float = GRACE_SECONDS) -> list[str]:
    """Ended calls with no analysis (older than *grace*), or notes newer than their summary."""
    settled = utcnow() - timedelta(seconds=grace)
    unanalysed = ~exists().where(CallAnalytics.call_id == Call.id)
    newer_notes = exists().where(
        and_(Interaction.call_id == Call.id, CallSummary.call_id == Call.id,
             Interaction.at > CallSummary.written_at)
    )
    with db.session() as session:
        query = (
            select(Call.id)
            .where(Call.ended_at.is_not(None), Call.ended_at <= settled,
                   or_(unanalysed, newer_notes))
            .order_by(Call.ended_at)
            .limit(BATCH)
        )
        return list(session.scalars(query))


def catch_up(db: Database, grace: float = GRACE_SECONDS) -> int:
    done = 0
    for call_id in pending_calls(db, grace):
        try:
            done += analyse_call(db, call_id)
        except Exception:
            log.exception("analytics of call %s failed", call_id)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="centralino analytics",
        description="Analyse ended calls (talk, interruptions, silences, mood, summary) that "
        "have no analysis yet; the switch workers analyse their own calls at hang-up.",
    )
    parser.add_argument("--config", default=None, help="TOML configuration file")
    parser.add_argument("--call", action="append", default=[], help="analyse this call id again")
    parser.add_argument("--watch", action="store_true", help="keep catching up until stopped")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS,
                        help="seconds an ended call is left to its worker first")
    args = parser.parse_args(argv)
    from store.settings import load_settings

    db = Database.from_settings(load_settings(args.config))
    try:
        if args.call:
            missing = [call for call in args.call if not analyse_call(db, call)]
            for call in missing:
                print(f"no ended call {call}")
            return 1 if missing else 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while True:
            print(f"analysed {catch_up(db, args.grace)} calls", flush=True)
            if not args.watch or stop.wait(args.interval):
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        db.dispose()


def analyse_after_hangup(db: Database, call_id: str, wait: float = 10.0) -> bool:
    """From the worker, once the transcript is stored: wait for the CDR to be closed (it is
    written on the store thread), then analyse; a failure is logged, never raised."""
    deadline = time.monotonic() + wait
    try:
        while not analyse_call(db, call_id):
            if time.monotonic() > deadline:
                log.warning("analytics call=%s: the call is not closed; left to the runner",
                            call_id)
                return False
            time.sleep(0.2)  # polling the store for the CDR's close, with a deadline
        return True
    except Exception:
        log.exception("analytics of call %s failed; left to the runner", call_id)
        return False
