"""One pump run, started on a signal: `python pump_on_signal.py <go-file>`.

Imports and connects first, prints "ready", waits for <go-file> to exist, then runs the
very pump handler that `emailsched pump` runs, once, and prints its report as JSON. Five
of these started together contend for the same due emails within milliseconds, which
processes started cold (a second or more of imports each) would not.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from emailsched import bootstrap
from emailsched.local.app_loader import load_app
from emailsched.local.lambda_events import LocalContext, scheduled_event

RULE = "arn:aws:events:local:000000000000:rule/emailsched-pump"


def main(go: Path) -> None:
    handler = load_app().pump
    container = bootstrap.container()
    container.engine.connect().close()
    _ = container.queue.url
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)
    report = handler(scheduled_event(container.settings.AWS_REGION, RULE),
                     LocalContext(function_name="emailsched-pump"))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
