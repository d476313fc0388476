"""Online booking, the patient's side of scheduling: the public slot picker and its cached week
(slot_page), holds and the booking steps (services), the public pages and forms (public_views,
public_forms) and the patient's own pages by signed link: cancel, reschedule, check-in
(patient_views)."""
