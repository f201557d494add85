"""OpenSMTPD's notice: `address: reply` lines under "the following list of recipients".

    This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

    nobody@example.org: 550 5.1.1 The email account that you tried to reach does not exist

Samples: tests/data/bounces/flufl/dsn_18.txt; sisimai's lhost-opensmtpd-*.eml."""

import re

from emailsched.domain.inbound.formats.base import TextFormat, flags

FORMAT = TextFormat(
    "opensmtpd",
    re.compile(r"following\s+list\s+of\s+recipients", flags()),
    re.compile(r"^[ \t]*<?(?P<address>[^<>\s:]+@[^<>\s:]+)>?:[ \t]*(?P<diagnostic>\S.*)$",
               flags()))
