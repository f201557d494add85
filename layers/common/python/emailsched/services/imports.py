"""Big lists through S3 (SPEC.md "Big lists"): an upload URL, scheduling from an uploaded
list (202 at once, everything but the rows checked first), and the import's progress.

The rows themselves are read by the import job (services/import_job.py), started by a
message on the imports queue.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from emailsched.errors import Conflict, InvalidRequest, NotFound
from emailsched.ports import ImportJobs, ImportObjects, ImportRecord, ImportStore
from emailsched.services.scheduling import ScheduleRequest, SchedulingService


@dataclass(frozen=True)
class NewImport:
    import_id: uuid.UUID
    upload_url: str
    upload_headers: dict[str, str]


class ImportService:
    def __init__(self, store: ImportStore, objects: ImportObjects, jobs: ImportJobs,
                 scheduling: SchedulingService, *, max_bytes: int, url_seconds: int):
        self._store, self._objects, self._jobs = store, objects, jobs
        self._scheduling = scheduling
        self._max_bytes, self._url_seconds = max_bytes, url_seconds

    def create(self, user_id: uuid.UUID, size: int | None = None) -> NewImport:
        """An import waiting for its file, and where to PUT it (text/csv)."""
        if size is not None and size > self._max_bytes:
            raise InvalidRequest("the file is too large", details=[
                {"field": "size", "message": f"at most {self._max_bytes} bytes"}])
        import_id = uuid.uuid4()
        key = f"imports/{user_id}/{import_id}.csv"
        url = self._objects.upload_url(key, self._url_seconds)
        self._store.create(user_id, key, import_id)
        return NewImport(import_id, url, self._objects.upload_headers())

    def status(self, user_id: uuid.UUID, import_id: uuid.UUID) -> ImportRecord:
        found = self._store.get(import_id, user_id)
        if found is None:
            raise NotFound("no such import")
        return found

    def schedule(self, user_id: uuid.UUID, request: ScheduleRequest,
                 import_id: uuid.UUID) -> uuid.UUID:
        """The batch id the import will create; InvalidRequest (nothing stored) for a bad
        request or an import that is not waiting to be scheduled."""
        found = self._store.get(import_id, user_id)
        if found is None:
            raise InvalidRequest("no such import", details=[
                {"field": "recipientsImportId", "message": "not one of your imports"}])
        if found.status != "uploading":
            raise Conflict("that import was scheduled already", details=[
                {"field": "recipientsImportId", "message": f"is {found.status}"}])
        senders = self._scheduling.check_without_recipients(user_id, request)
        if self._objects.size(found.object_key) is None:
            raise InvalidRequest("the file was not uploaded", details=[
                {"field": "recipientsImportId", "message": "PUT the CSV to uploadUrl first"}])
        batch_id = uuid.uuid4()
        stored = {
            "subject": request.subject, "body": request.body,
            "startMs": int(request.start_time.timestamp() * 1000),
            "delayMs": request.delay_ms, "hourlyLimit": request.hourly_limit,
            "senderIds": [str(s.id) for s in senders],
            "senderName": "" if request.sender_ids else request.sender_name,
            "steps": list(request.steps),
            "sendingWindow": None if request.sending_window is None
            else request.sending_window.to_api(),
            "randomDelayMs": request.random_delay_ms, "planSeed": secrets.randbits(62),
            "skipInvalid": request.skip_invalid}
        if not self._store.start(import_id, user_id, stored, batch_id):
            raise Conflict("that import was scheduled already", details=[
                {"field": "recipientsImportId", "message": "scheduled by another request"}])
        self._jobs.start(import_id)
        return batch_id
