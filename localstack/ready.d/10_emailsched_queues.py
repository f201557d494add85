#!/usr/bin/env python3
"""LocalStack init hook: create the send queue and its dead-letter queue.

It calls the very function `emailsched setup` and infra/deploy.py use
(emailsched.adapters.queues.ensure_queues), from the layer folder docker-compose.yml mounts
at EMAILSCHED_PYTHONPATH, so the emulated queues cannot drift from the real ones.

LocalStack runs ready.d Python hooks inside its own interpreter, which has boto3; the hook
also runs as a plain script (the tests run it against moto's server).
"""

import os
import sys

import boto3


def main() -> None:
    sys.path.insert(0, os.environ.get("EMAILSCHED_PYTHONPATH", "/opt/emailsched/python"))
    from emailsched.adapters.queues import ensure_queues

    sqs = boto3.client(
        "sqs",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"),
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        # LocalStack accepts any key; an explicit one keeps boto3 from looking further.
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )
    url = ensure_queues(sqs, os.environ.get("SEND_QUEUE_NAME", "emailsched-send"))
    print(f"emailsched: queues ready at {url}", flush=True)


main()
