"""Concurrent changes to one account queue up: activations from many threads (each with its own
database connection) leave one consistent route and an audit log whose entries chain without gaps."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from collections.abc import Callable

from admin import AuditAction, NotFound, RouteMode, Store
from tests.admin.settings_samples import mailgun, sendgrid, ses

THREADS = 6
ROUNDS = 8


def _run_all(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def wrap(work: Callable[[], None]) -> None:
        start.wait()
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    return errors


def test_concurrent_activations_serialize_and_the_audit_chain_holds(store: Store) -> None:
    account = store.create_account("Harbor & Pine", "agency")
    ids = [
        store.add_connection(account.id, settings, activate=False).id
        for settings in (ses(), mailgun(), sendgrid(), ses())
    ]
    store.use_managed(account.id)

    def worker(seed: int) -> Callable[[], None]:
        rng = random.Random(seed)  # reproducible choices per thread

        def work() -> None:
            for _ in range(ROUNDS):
                if rng.random() < 0.2:
                    store.use_managed(account.id, actor=f"worker-{seed}")
                else:
                    store.activate(rng.choice(ids), actor=f"worker-{seed}")

        return work

    assert _run_all([worker(n) for n in range(THREADS)]) == []

    changes = [
        e
        for e in reversed(store.audit_log(account.id, limit=1000))
        if e.action in (AuditAction.CONNECTION_ACTIVATED, AuditAction.MANAGED_CHOSEN)
    ]
    assert len(changes) > THREADS  # the threads really did change things
    assert {e.actor for e in changes} >= {"worker-0", "worker-1"}
    # Each change starts from the state the previous one left: no two read the same "before".
    for previous, current in itertools.pairwise(changes):
        assert current.before is not None
        assert previous.after is not None
        assert current.before["route"]["connection_id"] == previous.after["route"]["connection_id"]
        assert current.after is not None
        assert current.before["route"] != current.after["route"]
    route = store.outbound_route(account.id)
    assert changes[-1].after is not None
    assert route.connection_id == changes[-1].after["route"]["connection_id"]
    active = [c.id for c in store.list_connections(account.id) if c.active]
    assert active == ([] if route.mode is RouteMode.MANAGED else [route.connection_id])


def test_activating_while_another_thread_deletes_never_leaves_a_dangling_route(
    store: Store,
) -> None:
    for round_number in range(3):
        account = store.create_account(f"Race {round_number}", "nano")
        keep = store.add_connection(account.id, mailgun(), label="keep")
        doomed = [
            store.add_connection(account.id, ses(), label=f"doomed {n}", activate=False).id
            for n in range(3)
        ]

        def activator(targets: list[int] = doomed) -> None:
            for _ in range(4):
                for target in targets:
                    # Deleted first: refused with NotFound, and nothing else.
                    with contextlib.suppress(NotFound):
                        store.activate(target)

        def deleter(targets: list[int] = doomed) -> None:
            for target in targets:
                store.delete_connection(target)

        assert _run_all([activator, activator, deleter]) == []
        route = store.outbound_route(account.id)
        listed = store.list_connections(account.id)
        assert [c.id for c in listed] == [keep.id]
        assert (route.mode, route.connection_id) == (RouteMode.CUSTOM, keep.id)
        assert listed[0].active
