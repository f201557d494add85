"""The `emailsched` command (SPEC.md): dev, setup, api, worker, imports, pump, replies,
inbound, webhooks, bench."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from emailsched.logs import configure_logging

AWS_EMULATORS = ("moto", "localstack")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def cmd_setup(_: argparse.Namespace) -> int:
    from emailsched import bootstrap
    from emailsched.adapters.db.engine import migrate
    from emailsched.adapters.import_objects import ensure_bucket
    from emailsched.adapters.queues import ensure_import_queue, ensure_queues

    container = bootstrap.container()
    migrate(container.engine)
    print("database: migrated to the newest revision")
    s = container.settings
    if s.AWS_ENDPOINT_URL:
        url = ensure_queues(container.sqs, s.SEND_QUEUE_NAME)
        print(f"queues: {url} (+ dead-letter queue)")
        url = ensure_import_queue(container.sqs, s.IMPORT_QUEUE_NAME)
        print(f"imports queue: {url} (+ dead-letter queue)")
        ensure_bucket(container.s3, s.import_bucket, s.AWS_REGION, s.dashboard_origins)
        print(f"imports bucket: {s.import_bucket}")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from emailsched import bootstrap
    from emailsched.local.api_server import make_server
    from emailsched.local.app_loader import load_app, repo_root

    bootstrap.container().settings.require_api_secrets()
    server = make_server(load_app().app, args.host, args.port, repo_root() / "dashboard" / "dist")
    stop = _stop_on_signals()
    def shut_down_on_signal() -> None:
        stop.wait()
        server.shutdown()

    threading.Thread(target=shut_down_on_signal, daemon=True).start()
    print(f"api: listening on {server.url}", flush=True)
    server.serve_forever()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from emailsched import bootstrap
    from emailsched.local.app_loader import load_app
    from emailsched.local.worker import QueuePoller, run_pollers

    container = bootstrap.container()
    handler = load_app().send_emails
    arn = container.queue.arn()
    # Wired before the first poll, not by the first message: the sender's imports (the
    # database driver, Redis, templates, MIME: about a second of CPU) would otherwise hold
    # up that message's emails.
    from emailsched.api import sqs_batch  # noqa: F401
    _ = container.sender
    stop = _stop_on_signals()
    threads = run_pollers(lambda: QueuePoller(container.queue, handler, queue_arn=arn,
                                              region=container.settings.AWS_REGION),
                          args.concurrency, stop)
    print(f"worker: polling {container.settings.SEND_QUEUE_NAME} with {args.concurrency} "
          "poller(s)", flush=True)
    stop.wait()
    for thread in threads:
        thread.join(timeout=5)
    container.close()
    return 0


def cmd_imports(args: argparse.Namespace) -> int:
    """The import function's local stand-in: polls the imports queue (Big lists)."""
    from emailsched import bootstrap
    from emailsched.adapters.sqs import SqsQueue
    from emailsched.local.app_loader import load_app
    from emailsched.local.worker import QueuePoller, run_pollers

    container = bootstrap.container()
    queue = SqsQueue(container.sqs, container.settings.IMPORT_QUEUE_NAME)
    handler, arn = load_app().run_import, queue.arn()
    stop = _stop_on_signals()
    threads = run_pollers(lambda: QueuePoller(queue, handler, queue_arn=arn, batch_size=1,
                                              region=container.settings.AWS_REGION),
                          args.concurrency, stop)
    print(f"imports: polling {container.settings.IMPORT_QUEUE_NAME}", flush=True)
    stop.wait()
    for thread in threads:
        thread.join(timeout=5)
    container.close()
    return 0


def cmd_pump(args: argparse.Namespace) -> int:
    from emailsched import bootstrap
    from emailsched.local.app_loader import load_app
    from emailsched.local.pump_loop import run_pump

    container = bootstrap.container()
    stop = _stop_on_signals()
    handler = load_app().pump
    print(f"pump: running every {args.interval:g} s", flush=True)
    run_pump(handler, args.interval, stop, container.settings.AWS_REGION, once=args.once)
    container.close()
    return 0


def cmd_replies(args: argparse.Namespace) -> int:
    from emailsched import bootstrap
    from emailsched.local.app_loader import load_app
    from emailsched.local.replies_loop import run_replies

    container = bootstrap.container()
    stop = _stop_on_signals()
    handler = load_app().replies
    interval = args.interval or container.settings.REPLY_POLL_SECONDS
    print(f"replies: polling every {interval:g} s", flush=True)
    run_replies(handler, interval, stop, container.settings.AWS_REGION, once=args.once)
    container.close()
    return 0


def cmd_inbound(args: argparse.Namespace) -> int:
    from emailsched.local.inbound_command import run_inbound

    return run_inbound(args.files)


def cmd_webhooks(args: argparse.Namespace) -> int:
    """The webhook dispatcher (services/webhook_dispatch.py), the local stand-in for the
    scheduled `webhooks` function: delivers what is due, then waits --interval."""
    from emailsched import bootstrap
    from emailsched.services.webhook_dispatch import run_forever

    container = bootstrap.container()
    stop = _stop_on_signals()
    dispatcher = container.webhook_dispatcher
    print(f"webhooks: dispatching every {args.interval:g} s", flush=True)
    if args.once:
        print(f"webhooks: {dispatcher.run().as_dict()}", flush=True)
    else:
        run_forever(dispatcher, args.interval, stop)
    container.close()
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from emailsched.local.dev import run_dev

    return run_dev(port=args.port, workers=args.workers, data_dir=args.data_dir, aws=args.aws)


def cmd_bench(args: argparse.Namespace) -> int:
    from emailsched.bench.main import run_bench

    return run_bench(args)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="emailsched", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole product on this machine")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--workers", type=int, default=2)
    dev.add_argument("--data-dir", default=".emailsched")
    dev.add_argument("--aws", choices=AWS_EMULATORS, default="moto",
                     help="the AWS emulator to start when AWS_ENDPOINT_URL is unset")
    dev.set_defaults(run=cmd_dev, component="dev")
    setup = commands.add_parser("setup", help="apply migrations; create queues")
    setup.set_defaults(run=cmd_setup, component="setup")
    api = commands.add_parser("api", help="serve the HTTP API and the dashboard")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(run=cmd_api, component="api")
    worker = commands.add_parser("worker", help="run the sender on the send queue")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.set_defaults(run=cmd_worker, component="worker")
    imports = commands.add_parser("imports", help="run import jobs from the imports queue")
    imports.add_argument("--concurrency", type=int, default=1)
    imports.set_defaults(run=cmd_imports, component="imports")
    pump = commands.add_parser("pump", help="run the pump on an interval")
    pump.add_argument("--interval", type=float, default=60.0)
    pump.add_argument("--once", action="store_true")
    pump.set_defaults(run=cmd_pump, component="pump")
    replies = commands.add_parser("replies", help="read the senders' mailboxes for replies")
    replies.add_argument("--interval", type=float, default=0.0,
                         help="seconds between polls (default REPLY_POLL_SECONDS)")
    replies.add_argument("--once", action="store_true")
    replies.set_defaults(run=cmd_replies, component="replies")
    inbound = commands.add_parser("inbound", help="show how the reply poller reads messages")
    inbound.add_argument("files", nargs="+", metavar="FILE", help="a message, or - for stdin")
    inbound.set_defaults(run=cmd_inbound, component="inbound")
    hooks = commands.add_parser("webhooks", help="deliver webhooks from the outbox")
    hooks.add_argument("--interval", type=float, default=1.0,
                       help="seconds to wait when nothing is due (default 1)")
    hooks.add_argument("--once", action="store_true")
    hooks.set_defaults(run=cmd_webhooks, component="webhooks")
    bench = commands.add_parser("bench", help="run the benchmarks and print their figures")
    bench.add_argument("--quick", action="store_true")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--verbose", action="store_true")
    bench.add_argument("--only", default="", help="comma-separated benchmark names")
    bench.add_argument("--throughput-emails", type=int, default=0,
                       help="emails per throughput run (default 5,000; 1,000 with --quick)")
    bench.add_argument("--throughput-workers", default="",
                       help="comma-separated worker counts of the throughput runs (1,2,4)")
    bench.add_argument("--aws", choices=AWS_EMULATORS, default="moto",
                       help="the AWS emulator the benchmarks run on")
    bench.set_defaults(run=cmd_bench, component="bench")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configure_logging(args.component)
    try:
        return int(args.run(args))
    except ValueError as error:  # settings that fail validation name the variable
        print(f"emailsched {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
