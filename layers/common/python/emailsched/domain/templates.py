"""Merge-field templates: a batch's subject and bodies, compiled once, rendered per email.

Templates are Jinja2 in an immutable sandbox, and on top of the sandbox only a small
whitelist of syntax is accepted (output, `if`, comparisons, a few string filters): no
attribute or item access, no calls, no loops, no `set`, no includes. Fields are strings,
so a merge template needs nothing else, and everything else is either a way out of the
sandbox (`''.__class__`) or a way to burn the sender's CPU (`'x' * 10**9`).

The body is autoescaped as HTML. The subject is not escaped but is a header: every line
break (in a field or in the template) is folded to one space, so no field can add a header.

A name is *covered* when it is the direct subject of a `default(...)`/`d(...)` filter or of
an `is defined`/`is undefined` test; every other use makes the field required. Rendering
uses StrictUndefined, so a required field missing at send time is an error, never "".
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from emailsched.domain.recipient_fields import fold_line_breaks
from emailsched.domain.template_urls import URL_FILTER, encode_url_fields, urlpart
from emailsched.errors import InvalidRequest

MAX_TEMPLATE_CHARS = 200_000
MAX_SUBJECT_CHARS = 2_000
MAX_DETAILS = 100
BUILTIN_NAMES = frozenset({"email", "unsubscribe_url"})
ALLOWED_FILTERS = frozenset({
    # not `replace`: replace("", long) multiplies a field's length; not `safe`: fields are
    # always escaped in the body
    "default", "d", "upper", "lower", "title", "capitalize", "trim", "truncate",
    "escape", "e", "striptags", "wordcount", "length",
})
_COVERING_FILTERS = frozenset({"default", "d"})
_COVERING_TESTS = frozenset({"defined", "undefined"})
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter,
    nodes.Test, nodes.If, nodes.CondExpr, nodes.And, nodes.Or, nodes.Not, nodes.Compare,
    nodes.Operand, nodes.Concat, nodes.Keyword, nodes.Add,
)


def _subject_finalize(value: Any) -> Any:
    return fold_line_breaks(value) if isinstance(value, str) else value


_BODY_ENV = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_BODY_ENV.filters[URL_FILTER] = urlpart
_SUBJECT_ENV = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, finalize=_subject_finalize)


@dataclass(frozen=True)
class CompiledTemplate:
    """One template, ready to render, with the fields it needs."""

    field: str  # "subject", "body", "steps[0].body", ...
    template: Template
    required: frozenset[str]  # used without a default (built-ins excluded)
    optional: frozenset[str]  # used only under default()/is defined

    @property
    def uses_unsubscribe_url(self) -> bool:
        return "unsubscribe_url" in self.required | self.optional

    @property
    def fields(self) -> frozenset[str]:
        return (self.required | self.optional) - BUILTIN_NAMES


@dataclass(frozen=True)
class CompiledStep:
    subject: CompiledTemplate | None  # None: sent as "Re: <first subject>"
    body: CompiledTemplate


@dataclass(frozen=True)
class CompiledTemplates:
    """A batch's templates: step 1 is (subject, body); follow-ups are `steps`."""

    subject: CompiledTemplate
    body: CompiledTemplate
    steps: tuple[CompiledStep, ...] = ()

    def all(self) -> Iterator[CompiledTemplate]:
        yield self.subject
        yield self.body
        for step in self.steps:
            if step.subject is not None:
                yield step.subject
            yield step.body

    def body_for(self, step: int) -> CompiledTemplate:
        return self.body if step == 1 else self.step_templates(step).body

    def step_templates(self, step: int) -> CompiledStep:
        """The templates of follow-up `step` (2 is the first follow-up)."""
        if not 2 <= step <= len(self.steps) + 1:
            raise ValueError(f"no step {step}")
        return self.steps[step - 2]


def compile_templates(subject: str, body: str,
                      steps: Sequence[tuple[str | None, str]] = ()) -> CompiledTemplates:
    """Compile a batch's templates, or InvalidRequest naming each bad one and its line."""
    sources: list[tuple[str, str | None, bool]] = [("subject", subject, True),
                                                   ("body", body, False)]
    for index, (step_subject, step_body) in enumerate(steps):
        sources += [(f"steps[{index}].subject", step_subject, True),
                    (f"steps[{index}].body", step_body, False)]
    compiled: dict[str, CompiledTemplate | None] = {}
    errors: list[dict[str, Any]] = []
    for field, text, is_subject in sources:
        try:
            compiled[field] = None if text is None else compile_one(field, text, is_subject)
        except InvalidRequest as error:
            errors += error.details
    if errors:
        raise InvalidRequest("A template is invalid.", errors[:MAX_DETAILS])
    return _assemble(compiled, len(steps))


def _assemble(compiled: Mapping[str, CompiledTemplate | None],
              step_count: int) -> CompiledTemplates:
    def get(name: str) -> CompiledTemplate:
        value = compiled[name]
        assert value is not None
        return value

    steps = tuple(CompiledStep(compiled[f"steps[{i}].subject"], get(f"steps[{i}].body"))
                  for i in range(step_count))
    return CompiledTemplates(get("subject"), get("body"), steps)


def compile_one(field: str, text: str, is_subject: bool) -> CompiledTemplate:
    """One template compiled (cached by its text), or InvalidRequest naming `field`."""
    limit = MAX_SUBJECT_CHARS if is_subject else MAX_TEMPLATE_CHARS
    if len(text) > limit:
        raise _invalid(field, None, f"longer than {limit} characters")
    try:
        template, required, optional = _compile_cached(text, is_subject)
    except InvalidRequest as error:
        raise _fix_field(error, field) from None
    return CompiledTemplate(field, template, required, optional)


@functools.lru_cache(maxsize=512)
def _compile_cached(text: str, is_subject: bool) -> tuple[Template, frozenset[str], frozenset[str]]:
    # Keyed by the text: every email of a batch (and every batch with the same text)
    # shares one compiled template, so rendering at send time costs only the render.
    env = _SUBJECT_ENV if is_subject else _BODY_ENV
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as error:
        raise _invalid("?", error.lineno, error.message or "syntax error") from None
    _check_whitelist(tree)
    required, optional = _names_used(tree)
    # Checked as written; compiled with the fields in URL attributes percent-encoded.
    compiled = env.from_string(tree if is_subject else encode_url_fields(text))
    return compiled, frozenset(required), frozenset(optional - required)


def _invalid(field: str, line: int | None, message: str) -> InvalidRequest:
    detail: dict[str, Any] = {"field": field, "message": message}
    if line is not None:
        detail["line"] = line
    return InvalidRequest(f"{field}: {message}", [detail])


def _check_whitelist(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise _invalid("?", node.lineno, f"{_describe(node)} is not allowed in a template")
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise _invalid("?", node.lineno, f"the filter '{node.name}' is not allowed")
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            raise _invalid("?", node.lineno, f"the name '{node.name}' is not allowed")


def _describe(node: nodes.Node) -> str:
    names = {"Getattr": "attribute access", "Getitem": "item access", "Call": "a call",
             "For": "a loop", "Assign": "set", "Mul": "multiplication", "Pow": "a power"}
    kind = type(node).__name__
    return names.get(kind, f"'{kind}'")


def _names_used(tree: nodes.Template) -> tuple[set[str], set[str]]:
    covered: set[int] = set()
    optional: set[str] = set()
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        names = _COVERING_FILTERS if isinstance(node, nodes.Filter) else _COVERING_TESTS
        if node.name in names and isinstance(node.node, nodes.Name):
            covered.add(id(node.node))
            optional.add(node.node.name)
    required = {n.name for n in tree.find_all(nodes.Name) if id(n) not in covered}
    return required, optional


def _fix_field(error: InvalidRequest, field: str) -> InvalidRequest:
    for detail in error.details:
        detail["field"] = field
    return InvalidRequest(f"{field}: {error.details[0]['message']}", error.details)


def check_recipients(compiled: CompiledTemplates,
                     recipients_fields: Sequence[Mapping[str, str]]) -> None:
    """InvalidRequest naming `recipients[i]` for each recipient lacking a required field."""
    needed = _required_by_template(compiled)
    if not needed:
        return
    details: list[dict[str, Any]] = []
    for index, fields in enumerate(recipients_fields):
        missing = sorted(name for name in needed if name not in fields)
        if missing:
            details.append(_missing_detail(index, missing, needed))
            if len(details) >= MAX_DETAILS:
                break
    if details:
        raise InvalidRequest("A recipient lacks a field that a template uses without a default.",
                             details)


def _required_by_template(compiled: CompiledTemplates) -> dict[str, str]:
    needed: dict[str, str] = {}
    for template in compiled.all():
        for name in sorted(template.required - BUILTIN_NAMES):
            needed.setdefault(name, template.field)
    return needed


def _missing_detail(index: int, missing: list[str], needed: Mapping[str, str]) -> dict[str, Any]:
    where = ", ".join(f"'{name}' (used in {needed[name]})" for name in missing)
    return {"field": f"recipients[{index}]", "missing": missing,
            "message": f"no value for {where}; give it or use default(...)"}


def render(compiled: CompiledTemplates, fields: Mapping[str, str], email: str,
           unsubscribe_url: str, step: int = 1) -> tuple[str, str]:
    """The (subject, html body) of one email; a follow-up without subject is 'Re: <first>'."""
    context = {**fields, "email": email, "unsubscribe_url": unsubscribe_url}
    first_subject = _render(compiled.subject, context)
    if step == 1:
        return first_subject, _render(compiled.body, context)
    step_templates = compiled.step_templates(step)
    subject = (_render(step_templates.subject, context) if step_templates.subject
               else f"Re: {first_subject}")
    return subject, _render(step_templates.body, context)


def _render(compiled: CompiledTemplate, context: Mapping[str, str]) -> str:
    if not compiled.required and not compiled.optional:
        return _render_constant(compiled)
    return _render_with(compiled, context)


@functools.lru_cache(maxsize=512)
def _render_constant(compiled: CompiledTemplate) -> str:
    """A template that names nothing renders alike for every email: once per worker."""
    return _render_with(compiled, {})


def _render_with(compiled: CompiledTemplate, context: Mapping[str, str]) -> str:
    try:
        text = compiled.template.render(context)
    except TemplateError as error:  # a missing field (StrictUndefined) or a sandbox refusal
        raise _invalid(compiled.field, None, str(error)) from None
    is_subject = compiled.field.endswith("subject")
    return fold_line_breaks(text).strip() if is_subject else text


def required_fields(compiled: CompiledTemplates) -> dict[str, str]:
    """The field names some template uses without a default, each with the template that
    does (checked row by row where the recipients come as a stream: imports)."""
    return _required_by_template(compiled)


def missing_message(missing: list[str], needed: Mapping[str, str]) -> str:
    """What check_recipients says of a recipient lacking `missing`."""
    return str(_missing_detail(0, missing, needed)["message"])
