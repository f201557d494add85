"""A stage (prod, staging, ...) and the names of everything deployed for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

APP_NAME = "emailsched"
PYTHON_VERSION = "3.11"
RUNTIME = f"python{PYTHON_VERSION}"
# Chalice's names for the app's functions: the API handler, then the event handlers by the
# `name=` their decorators give in functions/app.py. A new function is one name here plus
# its entries in chalice_config.FUNCTION_SETTINGS, policies and template.LOGICAL_IDS.
API_HANDLER, SENDER, PUMP, REPLIES = "api_handler", "sender", "pump", "replies"
IMPORTS = "imports"  # big lists: streams an uploaded CSV from S3 (SQS-triggered)
VERIFIER = "verifier"  # checks a stored sender account for the API (invoked by it)
WEBHOOKS = "webhooks"  # delivers the webhook outbox (scheduled every minute)
FUNCTIONS = (API_HANDLER, SENDER, PUMP, REPLIES, IMPORTS, VERIFIER, WEBHOOKS)
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
# functions/.chalice/config.json's committed stage for `chalice local` (no AWS resources).
LOCAL_STAGE = "local"


@dataclass(frozen=True)
class Stage:
    name: str
    region: str

    def __post_init__(self) -> None:
        # The name goes into queue, function, role and secret names: keep it short and plain.
        if not _STAGE_NAME.match(self.name):
            raise ValueError(f"stage {self.name!r}: use 1-20 of a-z, 0-9 and '-', "
                             "starting with a letter")
        if self.name == LOCAL_STAGE:
            raise ValueError(f"stage {LOCAL_STAGE!r} is `chalice local`'s (committed in "
                             "functions/.chalice/config.json); deploy under another name")

    @property
    def queue_name(self) -> str:
        return f"{APP_NAME}-{self.name}-send"

    @property
    def dead_letter_queue_name(self) -> str:
        # The same rule as Settings.dead_letter_queue_name and adapters.queues.ensure_queues.
        return f"{self.queue_name}-dlq"

    @property
    def import_queue_name(self) -> str:
        return f"{APP_NAME}-{self.name}-imports"

    @property
    def import_dead_letter_queue_name(self) -> str:
        # The same rule as adapters.queues.ensure_import_queue.
        return f"{self.import_queue_name}-dlq"

    def import_bucket_name(self, account: str) -> str:
        """The bucket of uploaded recipient lists (bucket names are global: the account
        makes it unique)."""
        return f"{APP_NAME}-{self.name}-imports-{account}"

    def artifacts_bucket_name(self, account: str) -> str:
        """deploy.py's own bucket for a layer zip over the direct upload (artifacts_bucket)."""
        return f"{APP_NAME}-{self.name}-artifacts-{account}"

    @property
    def secret_name(self) -> str:
        return f"{APP_NAME}/{self.name}/app"

    @property
    def layer_name(self) -> str:
        return f"{APP_NAME}-{self.name}-common"

    def function_name(self, function: str) -> str:
        """The Lambda function name Chalice gives `function` in this stage."""
        if function == API_HANDLER:
            return f"{APP_NAME}-{self.name}"
        return f"{APP_NAME}-{self.name}-{function}"

    def policy_file(self, function: str) -> str:
        """The IAM policy file of `function`, relative to functions/.chalice/."""
        return f"policy-{self.name}-{function}.json"
