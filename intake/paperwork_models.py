"""What must be on file for a patient: the clinic's consent forms (versioned), the patient's
signatures, documents uploaded by the patient, staff or a referring office, the clinic's
requirements per step and a clinician's waivers, and referrals from other clinicians' offices.

Imported at the end of intake.models (Django registers models from the app's models module).
The rules live elsewhere: intake.consent_forms (versions, signing, the PDF), intake.documents
(uploads: what is accepted, where it is stored, who may open it), intake.requirements (what is
missing for a step, waivers), intake.referrals (the public form and the front desk's queue).
"""

from __future__ import annotations

from typing import Any, cast

from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from intake.models import Patient
from propel.append_only import AppendOnlyModel


class _DocumentsStorage(LazyObject):
    """storages["documents"], looked up on first use and again after STORAGES changes (a test's
    temporary folder): a FileField calls its storage callable once, when the model is defined,
    and would otherwise keep the store of that moment for ever (Django's default_storage is
    lazy for the same reason)."""

    def _setup(self) -> None:
        self._wrapped = storages["documents"]


_documents_storage = _DocumentsStorage()


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        _documents_storage._wrapped = empty  # type: ignore[assignment] # LazyObject's reset


def documents_storage() -> Storage:
    """The private store of signed forms and uploads (settings.STORAGES["documents"]): outside
    the web root, the file system in the demo, S3-compatible in production. Files are served only
    through intake's audited views, never by a URL of the store."""
    return cast(Storage, _documents_storage)


class ConsentFormKind(models.TextChoices):
    # Consent to electronic records comes first (ESIGN: before anything is signed electronically).
    ELECTRONIC = "electronic", _("Consent to electronic records and signatures")
    TREATMENT = "treatment", _("Informed consent for treatment")
    FINANCIAL = "financial", _("Financial policy")
    PRIVACY = "privacy", _("Acknowledgement of the notice of privacy practices")


class ConsentForm(models.Model):
    """One of the clinic's forms. Its text lives in its versions."""

    kind = models.CharField(max_length=16, choices=ConsentFormKind.choices, unique=True)
    title = models.CharField(_("title"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("in use"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("consent form")

    def __str__(self) -> str:
        return self.title


class ConsentFormVersion(AppendOnlyModel):
    """One published text of a form. Append-only: a correction is a new version, so what a
    patient signed never changes (each signature also keeps the text's SHA-256 and its PDF)."""

    form = models.ForeignKey(ConsentForm, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    effective_date = models.DateField(_("effective from"))
    # Whether patients who signed an earlier version must sign this one before it counts
    # (a material change) or their earlier signature still stands (a typo, a new address).
    resign_required = models.BooleanField(_("patients sign again"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["form", "number"]
        verbose_name = _("consent form version")
        constraints = [
            models.UniqueConstraint(fields=["form", "number"], name="consent_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.form} v{self.number}"


class SignatureMethod(models.TextChoices):
    ELECTRONIC = "electronic", _("Signed on the patient's link")
    PAPER = "paper", _("Signed on paper, scanned by staff")


class ConsentSignature(AppendOnlyModel):
    """A patient's signature of one version of a form, with what ESIGN/UETA asks to keep: who
    (identity confirmed by date of birth), what (the version, the exact text's SHA-256, the PDF
    of the signed form and its SHA-256), when, from where (IP, user agent). Append-only."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="consent_signatures"
    )
    version = models.ForeignKey(
        ConsentFormVersion, on_delete=models.PROTECT, related_name="signatures"
    )
    method = models.CharField(
        max_length=12, choices=SignatureMethod.choices, default=SignatureMethod.ELECTRONIC
    )
    signed_name = models.CharField(_("typed full name"), max_length=200)
    signed_at = models.DateTimeField()
    # When Propel stored it: the signing itself on the link, but for a paper signature the day
    # staff recorded the scan, which may be weeks after the date written on the form. What an
    # incremental export (_since) compares, so a late-recorded paper signature is not missed.
    recorded_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    text_sha256 = models.CharField(max_length=64)
    # The optional drawn signature, as PNG bytes (re-encoded from the canvas).
    drawn_signature = models.BinaryField(null=True, blank=True)
    pdf = models.FileField(storage=documents_storage, upload_to="signed/%Y/%m/", max_length=200)
    pdf_sha256 = models.CharField(max_length=64)
    # Staff who recorded a paper signature (the scan is a PatientDocument of kind PAPER_CONSENT).
    recorded_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The scan of a paper signature (intake.consent_forms.consent_paper_record).
    paper_document = models.ForeignKey(
        "intake.PatientDocument",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name = _("consent signature")
        indexes = [models.Index(fields=["patient", "version"], name="consent_signature_patient")]

    def __str__(self) -> str:
        return f"{self.version} signed by patient {self.patient_id}"


class DocumentKind(models.TextChoices):
    REFERRAL = "referral", _("Referral letter")
    RECORDS = "records", _("Medical records")
    PHOTO_ID = "photo_id", _("Photo ID")
    INSURANCE = "insurance", _("Insurance card")
    PAPER_CONSENT = "paper_consent", _("Signed paper form")
    OTHER = "other", _("Other document")


# Documents about the patient's health: front desk sees their name and kind, never the file.
# "Other" counts as clinical because nobody knows what it holds.
CLINICAL_DOCUMENT_KINDS = frozenset(
    {DocumentKind.REFERRAL, DocumentKind.RECORDS, DocumentKind.OTHER}
)


class DocumentSource(models.TextChoices):
    PATIENT = "patient", _("The patient, on their link")
    STAFF = "staff", _("Staff, on the patient page")
    REFERRAL = "referral", _("A referring office's form")


class PatientDocument(models.Model):
    """One uploaded file, checked and cleaned before it was stored (intake.documents): a patient's
    own, or a referral's letter before the referral became a patient."""

    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    referral = models.ForeignKey(
        "intake.Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DocumentKind.choices)
    file = models.FileField(storage=documents_storage, upload_to="uploads/%Y/%m/", max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=12, choices=DocumentSource.choices)
    uploaded_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    # A wrong upload is set aside by staff (with a reason), never deleted: it stops counting.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("patient document")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(patient__isnull=False) | models.Q(referral__isnull=False),
                name="document_has_owner",
            ),
        ]
        indexes = [models.Index(fields=["patient", "kind"], name="document_patient_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.pk})"

    @property
    def clinical(self) -> bool:
        return self.kind in CLINICAL_DOCUMENT_KINDS


class RequirementStep(models.TextChoices):
    CONSULTATION = "consultation", _("Before the consultation")
    FIRST_INFUSION = "first_infusion", _("Before the first infusion")


class Requirement(models.Model):
    """What the clinic wants on file before a step: a signed form or a kind of document.
    Admin sets them; intake.requirements decides what is missing."""

    step = models.CharField(_("step"), max_length=16, choices=RequirementStep.choices)
    consent_form = models.ForeignKey(
        ConsentForm, null=True, blank=True, on_delete=models.PROTECT, related_name="requirements"
    )
    document_kind = models.CharField(
        _("document"), max_length=16, choices=DocumentKind.choices, blank=True
    )
    waivable = models.BooleanField(_("a clinician may waive it"), default=True)
    active = models.BooleanField(_("in force"), default=True)

    class Meta:
        ordering = ["step", "id"]
        verbose_name = _("requirement")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(consent_form__isnull=False, document_kind="")
                    | models.Q(consent_form__isnull=True) & ~models.Q(document_kind="")
                ),
                name="requirement_form_or_document",
            ),
        ]

    def __str__(self) -> str:
        what = self.consent_form.title if self.consent_form else self.get_document_kind_display()
        return f"{what} ({self.get_step_display()})"


class RequirementWaiver(AppendOnlyModel):
    """A clinician's decision that one requirement is not needed for this patient, with the
    reason. Append-only (and audited by intake.requirements)."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="requirement_waivers"
    )
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="waivers")
    reason = models.TextField(_("reason"))
    by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("requirement waiver")

    def __str__(self) -> str:
        return f"waiver of {self.requirement_id} for patient {self.patient_id}"


class ReferralStatus(models.TextChoices):
    NEW = "new", _("New: call the patient")
    CONTACTED = "contacted", _("Patient contacted")
    BOOKED = "booked", _("Consultation booked")
    CLOSED = "closed", _("Closed")


class Referral(models.Model):
    """A referral sent by a referring clinician's office through the public form; lands in the
    front desk's queue (intake.referrals). The reason is health information: clinicians read it,
    front desk sees the contact details and the status."""

    referrer_name = models.CharField(_("referring clinician"), max_length=200)
    referrer_practice = models.CharField(_("practice"), max_length=200)
    referrer_phone = PhoneNumberField(_("office phone"))
    referrer_email = models.EmailField(_("office email"))
    patient_first_name = models.CharField(_("patient's first name"), max_length=100)
    patient_last_name = models.CharField(_("patient's last name"), max_length=100)
    patient_date_of_birth = models.DateField(_("patient's date of birth"), null=True, blank=True)
    patient_phone = PhoneNumberField(_("patient's phone"))
    patient_email = models.EmailField(_("patient's email"), blank=True)
    reason = models.TextField(_("reason for referral"))
    received_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=ReferralStatus.choices, default="new")
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    handled_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(_("front desk note"), blank=True)
    # What the referring office quotes when it calls (not the id: nothing to count or guess).
    reference = models.CharField(_("reference"), max_length=9, unique=True)
    # The form's one-time key: a second submit of the same form finds the first referral.
    form_key = models.CharField(max_length=43, unique=True, null=True, blank=True)
    # The confirmation email to the referring office: the referral is its own outbox row (one
    # email per referral, intake.referrals). Due while `confirmation_due_at` is set; cleared when
    # sent or given up.
    confirmation_due_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmation_attempts = models.PositiveSmallIntegerField(default=0)
    confirmation_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("referral")
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(status__in=["new", "contacted"]),
                name="referral_open",
            ),
            models.Index(
                fields=["confirmation_due_at"],
                condition=models.Q(confirmation_due_at__isnull=False),
                name="referral_confirmation_due",
            ),
        ]

    def __str__(self) -> str:
        return f"referral {self.pk} ({self.status})"


__all__: list[Any] = [
    "CLINICAL_DOCUMENT_KINDS",
    "ConsentForm",
    "ConsentFormKind",
    "ConsentFormVersion",
    "ConsentSignature",
    "DocumentKind",
    "DocumentSource",
    "PatientDocument",
    "Referral",
    "ReferralStatus",
    "Requirement",
    "RequirementStep",
    "RequirementWaiver",
    "SignatureMethod",
    "documents_storage",
]
