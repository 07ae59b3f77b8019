"""`rag feeds add|list|remove|poll`: feed subscriptions in the local store, or (`--url`) on
a running server through its HTTP API. Locally, `add` and `poll` read the feed at once;
afterwards `rag serve` polls every subscription on its interval."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any


def add_feeds_parser(sub: Any, func: Callable[[argparse.Namespace], int]) -> None:
    p = sub.add_parser(
        "feeds", help="subscribe to RSS/Atom feeds (rag serve polls them on their interval)"
    )
    p.add_argument("--url", help="manage a running server's feeds instead (its /v1/feeds)")
    p.add_argument(
        "--api-key", default=os.environ.get("RAG_API_KEY"), help="with --url (env RAG_API_KEY)"
    )
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("add", help="subscribe to a feed and read it at once")
    a.add_argument("feed_url", metavar="URL")
    a.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="MIN",
        help="minutes between polls (at least 1; default RAG_FEED_INTERVAL_MINUTES)",
    )
    actions.add_parser("list", help="the subscriptions and their last poll")
    r = actions.add_parser("remove", help="unsubscribe (documents already ingested stay)")
    r.add_argument("feed_id", metavar="ID")
    q = actions.add_parser("poll", help="poll now: one feed, or every feed")
    q.add_argument("feed_id", nargs="?", metavar="ID")
    p.set_defaults(func=func)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S") if stamp else "never"


def describe(feed: dict[str, Any]) -> str:
    counts = feed.get("counts") or {}
    lines = [
        f"{feed['id']}  {feed['url']}",
        f"    {feed['title'] or '(no title)'}; every {feed['interval_minutes']:g} min; "
        f"{feed['entries']} entries stored",
        f"    last poll {_when(feed['last_poll'])}: {feed['outcome'] or 'not yet'}"
        + (
            f" (added {counts.get('added', 0)}, updated {counts.get('updated', 0)}, "
            f"unchanged {counts.get('unchanged', 0)}, errors {counts.get('errors', 0)})"
            if counts
            else ""
        )
        + f"; next {_when(feed['next_poll'])}",
    ]
    if feed.get("error"):
        failures = feed.get("failures", 0)
        lines.append(f"    error{f' ({failures} in a row)' if failures else ''}: {feed['error']}")
    lines += [f"    entry: {e}" for e in feed.get("entry_errors") or []]
    return "\n".join(lines)


def run(args: argparse.Namespace, local_ingestion: Callable[[], tuple[Any, str | None]]) -> int:
    if args.url:
        return _over_http(args)
    if args.action in ("list", "remove"):  # the table alone: no model is loaded
        from ingest.feeds import FeedStore
        from rag.settings import get_settings

        store = FeedStore(get_settings().store.index_path)
        if args.action == "list":
            return _print_all([s.to_dict() for s in store.all()])
        return _removed(store.remove(args.feed_id), args.feed_id)
    ingestion, problem = local_ingestion()
    if ingestion is None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    ingestion.prepare(progress=False)
    from ingest.feeds import FeedBusyError, FeedError

    try:
        if args.action == "add":
            sub, new = ingestion.feeds.subscribe(args.feed_url, args.interval)
            print(("subscribed: " if new else "already subscribed: ") + describe(sub.to_dict()))
            return 0
        ids = [args.feed_id] if args.feed_id else [s.id for s in ingestion.feeds.list()]
        failed = 0
        for feed_id in ids:
            sub = ingestion.feeds.poll(feed_id)
            if sub is None:
                print(f"error: no feed with id {feed_id!r}", file=sys.stderr)
                return 1
            print(describe(sub.to_dict()))
            failed += sub.outcome == "failed"
        return 1 if failed else 0
    except (FeedError, FeedBusyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _print_all(feeds: list[dict[str, Any]]) -> int:
    if not feeds:
        print("no feed subscriptions (rag feeds add URL)")
    for feed in feeds:
        print(describe(feed))
    return 0


def _removed(done: bool, feed_id: str) -> int:
    if not done:
        print(f"error: no feed with id {feed_id!r}", file=sys.stderr)
        return 1
    print(f"unsubscribed from {feed_id}; its documents stay")
    return 0


def _over_http(args: argparse.Namespace) -> int:
    import httpx

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=900) as client:

        def ok(r: httpx.Response) -> bool:
            if r.status_code < 300:
                return True
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            print(f"error: {r.status_code} {detail}", file=sys.stderr)
            return False

        if args.action == "add":
            body: dict[str, Any] = {"url": args.feed_url}
            if args.interval is not None:
                body["interval_minutes"] = args.interval
            r = client.post("/v1/feeds", json=body)
            if not ok(r):
                return 1
            new = r.status_code == 201
            print(("subscribed: " if new else "already subscribed: ") + describe(r.json()))
            return 0
        if args.action == "list":
            r = client.get("/v1/feeds")
            return _print_all(r.json()["feeds"]) if ok(r) else 1
        if args.action == "remove":
            r = client.delete(f"/v1/feeds/{args.feed_id}")
            return _removed(True, args.feed_id) if ok(r) else 1
        ids = [args.feed_id] if args.feed_id else []
        if not ids:
            r = client.get("/v1/feeds")
            if not ok(r):
                return 1
            ids = [f["id"] for f in r.json()["feeds"]]
        failed = 0
        for feed_id in ids:
            for _ in range(30):  # another worker may be polling it: wait for its turn
                r = client.post(f"/v1/feeds/{feed_id}/poll")
                if r.status_code != 409:
                    break
                time.sleep(2)
            if not ok(r):
                failed += 1
                continue
            print(describe(r.json()))
            failed += r.json()["outcome"] == "failed"
        return 1 if failed else 0
