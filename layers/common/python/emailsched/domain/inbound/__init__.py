"""Inbound mail as the reply poller reads it: complaints, bounces in the shapes real mail
servers send, replies and automatic replies (inbound/detect.py). Pure: no I/O."""

from emailsched.domain.inbound.detect import read_inbound
from emailsched.domain.inbound.reading import Bounce, Kind, Reading, Recipient

__all__ = ["Bounce", "Kind", "Reading", "Recipient", "read_inbound"]
