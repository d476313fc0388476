"""Every patient-facing string is marked for translation (issue 22, "Done when"):

- templates: a patient-facing template has no visible text outside {% translate %} /
  {% blocktranslate %}, in the page's text or in the attributes a person reads or hears (alt,
  title, placeholder, aria-label...). Parsed with Django's own template Lexer; the text between
  template tags is read as HTML, so tag names, classes and addresses are not "text".
- Python: in the patient-facing modules, a string with letters given to messages.*, ValidationError,
  a form field's label / help_text / error_messages, an HttpResponse, or a refusal a patient reads
  (DocumentRefused, ConsentRefused...) is wrapped in gettext (any of _ / gettext / gettext_lazy /
  pgettext / ngettext...). Found by reading the modules' syntax trees (ast).

A new template or module that patients see belongs in PATIENT_TEMPLATES / PATIENT_MODULES below.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import Lexer, TokenType

BASE = Path(settings.BASE_DIR)
TEMPLATES = BASE / "templates"

# Patient-facing templates: whole folders, and single files in folders that also hold staff pages.
PATIENT_TEMPLATE_FOLDERS = [
    "scheduling/public",
    "scheduling/patient",
    "intake/link",
    "intake/opt_out",
    "reminders",
]
PATIENT_TEMPLATE_FILES = [
    "base.html",
    "400.html",
    "403.html",
    "403_csrf.html",
    "404.html",
    "500.html",
    "components/_email_opt_out.html",
    "components/_email_opt_out.txt",
    "components/_error_help.html",
    "components/_language_switch.html",
    "components/_messages.html",
    "components/_navbar.html",
    "components/_policy_changes.html",
    "propel/home.html",
    "propel/unavailable.html",
    "intake/_crisis_resources.html",
    "intake/_info_request.html",
    "intake/_answers.html",
    "intake/_answer_rows.html",
    "intake/_errors.html",
    "intake/_instrument.html",
    "intake/_question.html",
    "intake/_depends.html",
    "intake/_medications.html",
    "intake/about_questions.html",
    "intake/check_in_closed.html",
    "intake/crisis.html",
    "intake/review.html",
    "intake/section.html",
    "intake/submitted.html",
    "intake/summary.html",
    "intake/consent/forms.html",
    "intake/consent/sign.html",
    "intake/documents/patient.html",
    "intake/referrals/form.html",
    "intake/referrals/sent.html",
    "intake/referrals/too_many.html",
    "scheduling/waitlist/edit.html",
    "scheduling/waitlist/offer_gone.html",
    "scheduling/waitlist/patient.html",
    "emails/_booking_footer.txt",
    "emails/_booking_layout.html",
    "emails/booking_request_body.html",
    "emails/booking_request_body.txt",
    "emails/booking_request_subject.txt",
    "emails/information_request_body.html",
    "emails/information_request_body.txt",
    "emails/information_request_subject.txt",
    "emails/patient_link_body.html",
    "emails/patient_link_body.txt",
    "emails/patient_link_subject.txt",
    "emails/questionnaire_link_body.html",
    "emails/questionnaire_link_body.txt",
    "emails/questionnaire_link_subject.txt",
    "emails/signed_copy_body.html",
    "emails/signed_copy_body.txt",
    "emails/signed_copy_subject.txt",
    "emails/waitlist_gone_body.html",
    "emails/waitlist_gone_body.txt",
    "emails/waitlist_gone_subject.txt",
    "emails/waitlist_lapsed_body.html",
    "emails/waitlist_lapsed_body.txt",
    "emails/waitlist_lapsed_subject.txt",
    "emails/waitlist_offer_body.html",
    "emails/waitlist_offer_body.txt",
    "emails/waitlist_offer_subject.txt",
]
# Names and numbers that are the same in every language.
ALLOWED_TEXT = {
    # The crisis line's Spanish option, in Spanish on English pages too (intake/_crisis_resources)
    "Para ayuda en español, llame al 988 y oprima 2.",
    "Propel Clinic",
    "Propel",
    "988",
    "911",
    "988lifeline.org",
    "PHQ-9",
    "GAD-7",
    "PCL-5",
}
# Attributes a person reads or hears; every other attribute is for the browser.
READ_ATTRIBUTES = {
    "alt",
    "title",
    "placeholder",
    "aria-label",
    "aria-description",
    "aria-roledescription",
    "label",
}
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
MARK = "\x00"
# What a tag or variable leaves behind: a space too, so `<fieldset{% if x %} ...` still parses.
HOLE = " " + MARK


def patient_templates() -> list[Path]:
    found = [TEMPLATES / name for name in PATIENT_TEMPLATE_FILES]
    for folder in PATIENT_TEMPLATE_FOLDERS:
        found += sorted(p for p in (TEMPLATES / folder).rglob("*") if p.suffix in (".html", ".txt"))
    return found


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if value and (
                name in READ_ATTRIBUTES
                or (name == "value" and attributes.get("type") in ("submit", "button", "reset"))
            ):
                self.found.append(f'{name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.found.append(data)


def _outside_translation(source: str) -> str:
    """The template with its tags and variables replaced by a marker, and its comments and
    {% blocktranslate %} bodies removed: what is left is the text a template writes as it is."""
    kept: list[str] = []
    inside: str | None = None  # the end tag we are waiting for
    for token in Lexer(source).tokenize():
        if inside is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == inside:
                inside = None
            continue
        if token.token_type == TokenType.TEXT:
            kept.append(token.contents)
        elif token.token_type == TokenType.BLOCK:
            word = token.contents.split()[0]
            if word in ("blocktranslate", "blocktrans"):
                inside = "end" + word
            elif word == "comment":
                inside = "endcomment"
            kept.append(HOLE)
        elif token.token_type == TokenType.VAR:
            kept.append(HOLE)
    return "".join(kept)


def unmarked_text(source: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(_outside_translation(source))
    parser.close()
    problems = []
    for piece in parser.found:
        text = piece
        for allowed in sorted(ALLOWED_TEXT, key=len, reverse=True):
            text = text.replace(allowed, "")
        for line in text.split(MARK):
            if LETTER.search(line.split('="', 1)[-1] if '="' in piece else line):
                problems.append(" ".join(piece.replace(MARK, "{…}").split()))
                break
    return problems


def test_the_scan_sees_unmarked_text_and_allows_marked_text():
    assert unmarked_text("<p>Book now</p>") == ["Book now"]
    assert unmarked_text('<img alt="Clinic door" src="/x.png">') == ['alt="Clinic door"']
    assert unmarked_text('<input type="submit" value="Send">') == ['value="Send"']
    assert unmarked_text("<button aria-label=\"{% translate 'Close' %}\">&times;</button>") == []
    assert unmarked_text('<p class="lead">{% translate "Book now" %}</p>') == []
    assert unmarked_text("{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}") == []
    assert unmarked_text("<p>{{ clinic.name }} · 988 · 911</p>") == []
    assert (
        unmarked_text("{% comment %}A note{% endcomment %}{# another #}<script>let a=1</script>")
        == []
    )
    assert unmarked_text("Hello {{ name }},") == ["Hello {…},"]


# Included in a patient page's template but shown to staff only.
STAFF_ONLY_INCLUDES = {"components/_crisis_banner.html"}


def test_the_list_of_patient_templates_names_real_files():
    missing = [str(p) for p in patient_templates() if not p.exists()]
    assert not missing


def test_what_a_patient_template_includes_is_scanned_too():
    listed = {str(p.relative_to(TEMPLATES)) for p in patient_templates()}
    missing = set()
    for path in patient_templates():
        named = re.findall(r"{%\s*(?:include|extends)\s+[\"']([^\"']+)", path.read_text())
        missing |= {name for name in named if name not in listed | STAFF_ONLY_INCLUDES}
    assert not missing, f"add to PATIENT_TEMPLATE_FILES (or STAFF_ONLY_INCLUDES): {sorted(missing)}"


@pytest.mark.parametrize("path", patient_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_patient_template_text_is_marked_for_translation(path):
    problems = unmarked_text(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.relative_to(BASE)}: text outside {{% translate %}}: {problems}"


# --- Python ---------------------------------------------------------------------------------------

PATIENT_MODULES = sorted(
    {
        *BASE.glob("intake/*pages*.py"),
        BASE / "intake/views.py",
        BASE / "intake/forms.py",
        BASE / "intake/registration_forms.py",
        BASE / "intake/referral_forms.py",
        BASE / "intake/question_fields.py",
        BASE / "intake/consent_forms.py",
        BASE / "intake/documents.py",
        BASE / "intake/document_fields.py",
        BASE / "intake/language.py",
        *BASE.glob("scheduling/online/*.py"),
        *BASE.glob("scheduling/waitlist/*.py"),
        BASE / "scheduling/reminders/messages.py",
    }
)
TRANSLATORS = {
    "_",
    "gettext",
    "gettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "npgettext_lazy",
    "format_lazy",
}
# Calls whose first argument (and `message=`) a patient reads.
MESSAGE_CALLS = {
    "ValidationError",
    "HttpResponse",
    "HttpResponseBadRequest",
    "HttpResponseForbidden",
    "HttpResponseNotFound",
    "DocumentRefused",
    "ConsentRefused",
    "ReferralRefused",
    "BookingRefused",
    "add_error",
    "info",
    "success",
    "warning",
    "error",
    "debug",
    "add_message",
}
FIELD_KEYWORDS = {"label", "help_text", "error_messages", "empty_label", "placeholder", "message"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _bare_strings(node: ast.expr) -> list[str]:
    """String literals with letters in `node` that no translation call wraps."""
    if isinstance(node, ast.Call) and _name(node.func) in TRANSLATORS:
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if LETTER.search(node.value) else []
    if isinstance(node, ast.JoinedStr):
        text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return [text] if LETTER.search(text) else []
    if isinstance(node, ast.BinOp):
        return _bare_strings(node.left) + _bare_strings(node.right)
    if isinstance(node, ast.Dict):
        return [s for v in node.values if v is not None for s in _bare_strings(v)]
    if isinstance(node, ast.IfExp):
        return _bare_strings(node.body) + _bare_strings(node.orelse)
    return []


def unmarked_python(source: str) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = _name(node.func)
        # messages.info(request, "...") / messages.add_message(request, level, "...")
        is_messages = isinstance(node.func, ast.Attribute) and _name(node.func.value) == "messages"
        arguments: list[ast.expr] = []
        if called in MESSAGE_CALLS:
            if is_messages:
                index = 2 if called == "add_message" else 1
                arguments += node.args[index : index + 1]
            elif called == "add_error":
                arguments += node.args[1:2]
            elif called not in {"info", "success", "warning", "error", "debug", "add_message"}:
                arguments += node.args[:1]
        arguments += [k.value for k in node.keywords if k.arg in FIELD_KEYWORDS]
        for argument in arguments:
            problems += [(node.lineno, text) for text in _bare_strings(argument)]
    return problems


def test_the_python_scan_sees_unmarked_strings():
    source = (
        "messages.success(request, 'Saved.')\n"
        "messages.success(request, _('Saved.'))\n"
        "raise ValidationError('Pick a time.')\n"
        "raise ValidationError(_('Pick a time.'), code='x')\n"
        "forms.CharField(label='Name', help_text=gettext_lazy('As on your ID'))\n"
        "forms.CharField(error_messages={'required': 'Needed'})\n"
        "raise DocumentRefused(f'Too big: {size}')\n"
        "raise DocumentRefused(_('Too big: %(size)s') % {'size': size})\n"
        "HttpResponse('', status=204)\n"
        "form.add_error('when', 'Gone')\n"
    )
    assert [line for line, _ in unmarked_python(source)] == [1, 3, 5, 6, 7, 10]


@pytest.mark.parametrize("path", PATIENT_MODULES, ids=lambda p: str(p.relative_to(BASE)))
def test_patient_facing_python_strings_are_marked(path):
    problems = unmarked_python(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.relative_to(BASE)}: not wrapped in gettext: {problems}"
