"""Table tests of the inbox's readers (issue 26): out-of-office return dates and "remove me"
replies, over real-world phrasings and ordinary replies that must not trigger them. Each
prints its precision and recall (pytest -s shows them) and requires both to be 1.0."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from emailsched.domain.inbox.away import is_out_of_office, return_date
from emailsched.domain.inbox.removal import asks_removal

RECEIVED = datetime(2026, 12, 18, 15, 30, tzinfo=UTC)  # a Friday
JAN = 2027

# (message, the date it names: the last day away or the day back)
AWAY: list[tuple[str, date]] = [
    ("I am out of the office until 5 January with no access to email.", date(JAN, 1, 5)),
    ("I'm out of office until 5 Jan 2027.", date(JAN, 1, 5)),
    ("Thank you for your email. I will be back on Monday, 11 January 2027.", date(JAN, 1, 11)),
    ("I am away, returning 2027-01-11.", date(JAN, 1, 11)),
    ("I will be out of the office from 21 December to 4 January.", date(JAN, 1, 4)),
    ("I will be out of the office from December 21 to January 4.", date(JAN, 1, 4)),
    ("I will return on January 6th.", date(JAN, 1, 6)),
    ("I will be back in the office on 7 January.", date(JAN, 1, 7)),
    ("I'm on annual leave until Tuesday 5th January.", date(JAN, 1, 5)),
    ("I am currently on vacation and will return on Jan 4.", date(JAN, 1, 4)),
    ("Out of office: back on 12 January.", date(JAN, 1, 12)),
    ("Hi, I'm OOO through January 3rd. For urgent matters contact Jane.", date(JAN, 1, 3)),
    ("I am on parental leave until 1 March 2027.", date(JAN, 3, 1)),
    ("I'm travelling with limited access to email until Wednesday 23 December.",
     date(2026, 12, 23)),
    ("I'll be back at my desk on Monday 4 January.", date(JAN, 1, 4)),
    ("The office is closed for the holidays. We re-open and I return to the office on "
     "January 5, 2027.", date(JAN, 1, 5)),
    ("I am away from the office from 19/12/2026 to 04/01/2027.", date(JAN, 1, 4)),
    ("Currently out, back 01/04/2027.", date(JAN, 1, 4)),
    ("I'm out of the office 21 Dec - 3 Jan.", date(JAN, 1, 3)),
    ("I am on holiday until the 8th of January.", date(JAN, 1, 8)),
    ("I will be out of the office starting 21 December and returning Monday, January 11.",
     date(JAN, 1, 11)),
    ("Thanks for your message. I'm out till Jan 7.", date(JAN, 1, 7)),
    ("I'm out of office til 6 January and will reply when I'm back.", date(JAN, 1, 6)),
    ("I'll be back in the office on Monday.", date(2026, 12, 21)),
    ("I am out of the office until Monday.", date(2026, 12, 21)),
    ("I am on a business trip until 22.12.2026 with limited access to email.",
     date(2026, 12, 22)),
    ("I'm away until 2027-01-04 inclusive.", date(JAN, 1, 4)),
    ("On leave. Back January 4th, 2027.", date(JAN, 1, 4)),
    ("I'm currently on sabbatical and will return on 1 February 2027.", date(JAN, 2, 1)),
    ("I am out of the office until Tue, Jan 5.", date(JAN, 1, 5)),
    ("Automatic reply: I'm out of the office through Friday January 8.", date(JAN, 1, 8)),
    ("I'm on PTO and will be back in the office again on Jan 4.", date(JAN, 1, 4)),
    ("I am out of the office and will be available from 4 January.", date(JAN, 1, 4)),
    ("I'm on maternity leave until April 30, 2027. Please contact sales@example.com.",
     date(JAN, 4, 30)),
    ("Thank you for your email. I'm out until Mon 4 Jan and will respond then.",
     date(JAN, 1, 4)),
    ("I'm away 23rd December to 2nd January.", date(JAN, 1, 2)),
    ("Our offices are closed. I will return to work on 4th January 2027.", date(JAN, 1, 4)),
    ("Hello, I am out of office with no access to email, returning on the 5th of January.",
     date(JAN, 1, 5)),
    ("Hi! I'm currently on holidays and will be back on 11/01/2027.", date(JAN, 1, 11)),
    ("I'm off until tomorrow.", date(2026, 12, 19)),
    ("I am out of the office from Monday 21 December until Friday 1 January inclusive.",
     date(JAN, 1, 1)),
    ("I'm on sick leave until 22 December.", date(2026, 12, 22)),
    ("I'll be OOO until Jan. 6 with intermittent access to email.", date(JAN, 1, 6)),
    ("I will be on vacation through 12/31/2026.", date(2026, 12, 31)),
]

# Automatic replies that say nothing of a return date.
AWAY_UNDATED = [
    "I am out of the office with limited access to email.",
    "I'm currently on vacation. For urgent matters please call the front desk.",
    "Thanks for your message, I am away and will reply when I am back.",
]

# Ordinary replies (and automatic ones that are no absence): no return date, no absence.
ORDINARY = [
    "Thanks, please send me the pricing.",
    "I'm out of ideas, what would you suggest?",
    "Can we talk on Monday, 11 January 2027?",
    "Let's meet on 5 January at 10:00.",
    "Our contract with the current vendor runs until March 2027, try me then.",
    "Sounds good. Call me tomorrow at 3pm.",
    "Send me the proposal by January 4th.",
    "We're launching on 2027-01-11, maybe after that.",
    "Thank you, we received your request. Ticket #4521 has been created.",
    "Could you send a case study?",
    "Interesting, who else uses this?",
    "What does it cost for 10 seats?",
    "I'd like a demo on Tuesday.",
    "Not now, maybe next quarter.",
    "Please talk to my colleague Jane.",
    "Yes, I'm interested. When are you free?",
    "Our budget closes on 31 December.",
    "Wrong person, sorry.",
    "The webinar is on Thursday 7 January.",
    "Thanks for reaching out, we use a competitor.",
    "Can you do 20% off?",
    "Is there a free trial?",
    "Great, I forwarded this to our CTO.",
    "Let me check with the team and get back to you.",
    "Please remove the second paragraph from the draft.",
    "We're closed for lunch from 12 to 1.",
    "Our office is open Monday to Friday, 9 to 5.",
    "The offer is valid from 1 January to 31 January.",
    "Your delivery arrives on Wednesday.",
    "Hi, thanks for the note. I'll read it on the plane.",
    "What integrations do you support?",
    "Do you have SOC 2?",
    "I love the product, send the contract.",
    "Can you resend the attachment?",
    "How did you get my address?",
    "Happy holidays to you too!",
    "Payment is due on 15 January.",
    "Let's schedule a call next week.",
    "I'm in the office all week, call anytime.",
    "We reviewed it in our meeting on the 14th of December.",
]


def _score(name: str, hits: int, positives: int, false_hits: int) -> tuple[float, float]:
    precision = hits / (hits + false_hits) if hits + false_hits else 1.0
    recall = hits / positives if positives else 1.0
    print(f"\n{name}: precision {precision:.3f}, recall {recall:.3f} "
          f"({hits}/{positives} found, {false_hits} false)")
    return precision, recall


def test_return_dates_precision_and_recall() -> None:
    assert len(AWAY) >= 40 and len(ORDINARY) >= 40
    missed = [(text, want, return_date(text, RECEIVED)) for text, want in AWAY
              if return_date(text, RECEIVED) != want]
    false = [(text, return_date(text, RECEIVED)) for text in ORDINARY
             if is_out_of_office("", text) and return_date(text, RECEIVED) is not None]
    precision, recall = _score("out-of-office return date", len(AWAY) - len(missed),
                               len(AWAY), len(false))
    assert missed == [] and false == []
    assert precision == recall == 1.0


def test_out_of_office_is_recognised_with_or_without_a_date() -> None:
    away = [text for text, _ in AWAY] + AWAY_UNDATED
    missed = [text for text in away if not is_out_of_office("", text)]
    false = [text for text in ORDINARY if is_out_of_office("", text)]
    precision, recall = _score("out-of-office", len(away) - len(missed), len(away), len(false))
    assert missed == [] and false == []
    assert precision == recall == 1.0
    assert [return_date(text, RECEIVED) for text in AWAY_UNDATED] == [None] * 3


def test_a_date_in_the_past_or_in_quoted_text_is_no_return_date() -> None:
    assert return_date("I was out until 1 December.", RECEIVED) is None
    assert return_date("Thanks!\n\nOn Fri, 18 Dec 2026, Bob wrote:\n> I'm back on 4 January",
                       RECEIVED) is None


REMOVE = [
    "unsubscribe",
    "Unsubscribe me please.",
    "UNSUBSCRIBE",
    "Please remove me from your list.",
    "Remove me.",
    "remove me from your mailing list",
    "Please take me off your list.",
    "Take me off your mailing list, thanks.",
    "Stop emailing me.",
    "Please stop emailing me!",
    "Not interested, please stop.",
    "Not interested. Please remove me.",
    "STOP",
    "stop",
    "Please stop.",
    "Please unsubscribe me from these emails.",
    "Kindly remove my email address from your database.",
    "Please remove us from your distribution list.",
    "Do not contact me again.",
    "Don't email me again.",
    "Please don't contact us anymore.",
    "No more emails please.",
    "I don't want to receive any more emails from you.",
    "Stop sending me these emails.",
    "Stop spamming me.",
    "Leave me alone.",
    "Opt me out.",
    "Please opt me out of your emails.",
    "Delete my email address, please.",
    "Take my address off your list.",
    "I never signed up for this. Remove me.",
    "Please remove my details from your system.",
    "Stop contacting me or I will report you.",
    "How do I unsubscribe from this?",
    "Please stop sending emails to this address.",
    "Not interested - please stop emailing.",
    "Not interested, unsubscribe.",
    "Please take us off your lists.",
    "Remove this address from your list please.",
    "Never email me again.",
    "I'd like to opt out.",
    "Stop writing to me.",
    "This is spam, stop now.",
    "No further contact please.",
]

KEEP = [
    "Thanks, please send me the pricing.",
    "I'm out of ideas.",
    "Please don't remove the attachment next time.",
    "Can you remove the second paragraph?",
    "Stop by our booth at the conference!",
    "We can't stop talking about your product.",
    "How do I remove a user from my account?",
    "The bus stop is right in front of our office.",
    "We work non-stop this month.",
    "Please take a look at the attached brief.",
    "Take me through the onboarding, please.",
    "Interested! When can we talk?",
    "Not interested right now, but try me in Q3.",
    "Please don't unsubscribe me, I like these.",
    "Don't remove me, I want the follow-ups.",
    "Please send more emails like this one.",
    "We'd like to remove the watermark from the export.",
    "Can you take the logo off the slide?",
    "Let's stop the trial early and buy.",
    "Please send me the contract.",
    "Who else uses this?",
    "Please forward this to my colleague.",
    "Remove the trial limit and we'll sign.",
    "I removed the old integration yesterday.",
    "Sure, set up a call.",
    "Is there a free tier?",
    "We stopped using our old vendor.",
    "Please add my colleague to the thread.",
    "Could you send the case study again? The link didn't work.",
    "Thanks, we never stop learning!",
    "Email me the details on Monday.",
    "Contact me again in January.",
    "Send me more information.",
    "I'm not the right person, try Jane.",
    "What's the difference between the plans?",
    "Our list of requirements is attached.",
    "We'll opt for the annual plan.",
    "Sounds interesting, please call me.",
    "Your unsubscribe link is broken, but I want to keep getting these.",
    "Can you take me to lunch next week? Kidding. Send pricing.",
]

QUOTED_FOOTER = ("Sounds great, send the contract.\n\nOn Fri, Dec 18, 2026 at 9:00 AM Ann "
                 "<ann@ours.example> wrote:\n> Hi!\n> Unsubscribe: https://x.example/u/abc\n")


def test_remove_me_precision_and_recall() -> None:
    assert len(REMOVE) >= 40 and len(KEEP) >= 40
    missed = [text for text in REMOVE if not asks_removal(text)]
    false = [text for text in KEEP if asks_removal(text)]
    precision, recall = _score("remove me", len(REMOVE) - len(missed), len(REMOVE), len(false))
    assert missed == [] and false == []
    assert precision == recall == 1.0


@pytest.mark.parametrize("text", [QUOTED_FOOTER, "Thanks!\n\n> remove me\n"])
def test_quoted_text_is_not_read(text: str) -> None:
    assert not asks_removal(text)
