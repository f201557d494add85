"""Logging: JSON lines through Powertools on Lambda, readable prefixed lines locally.

Nothing logs tokens, passwords or email bodies: log calls name ids and outcomes only.
"""

from __future__ import annotations

import logging
import os
import sys


def configure_logging(component: str, level: str | None = None) -> None:
    level = (level or os.environ.get("LOG_LEVEL") or "INFO").upper()
    # flufl.bounce logs a line per detector it tries: per inbound message, everywhere.
    logging.getLogger("flufl.bounce").setLevel(logging.WARNING)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        from aws_lambda_powertools import Logger
        from aws_lambda_powertools.logging import utils

        logger = Logger(service="emailsched", level=level)
        utils.copy_config_to_registered_loggers(source_logger=logger, include={"emailsched"})
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s {component:<7} %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "mail.log", "asyncio", "alembic",
                  "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
