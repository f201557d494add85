"""The recipient domains' mail-host answers cached in Redis, shared by every process: a day
for a domain found, an hour for one not found (it may be set up soon). Redis down reads as
nothing cached."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import redis

from emailsched.adapters.redis_errors import wrap_redis_errors
from emailsched.domain.recipient_domains import MailHost
from emailsched.errors import ServiceUnavailable

FOUND_SECONDS = 86_400
NONE_SECONDS = 3_600
_CHUNK = 5_000  # keys per MGET / pipeline: a big import's domains in a few round trips


class RedisDomainCache:
    def __init__(self, client: redis.Redis, prefix: str):
        self._client, self._prefix = client, f"{prefix}mailhost:"

    def get_many(self, domains: Iterable[str]) -> dict[str, MailHost]:
        wanted, found = list(domains), {}
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            for start in range(0, len(wanted), _CHUNK):
                part = wanted[start:start + _CHUNK]
                values = self._client.mget([self._prefix + d for d in part])
                found.update({d: MailHost(v.decode() if isinstance(v, bytes) else v)
                              for d, v in zip(part, values, strict=True) if v})
        return found

    def put_many(self, answers: Mapping[str, MailHost]) -> None:
        items = list(answers.items())
        with contextlib.suppress(ServiceUnavailable), wrap_redis_errors():
            for start in range(0, len(items), _CHUNK):
                pipe = self._client.pipeline(transaction=False)
                for domain, answer in items[start:start + _CHUNK]:
                    pipe.set(self._prefix + domain, answer.value,
                             ex=FOUND_SECONDS if answer == MailHost.FOUND else NONE_SECONDS)
                pipe.execute()
