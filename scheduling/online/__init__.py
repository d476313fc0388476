"""Online booking, the patient's side of scheduling: the public slot picker and its cached week
(slot_page, offer), holds and the booking steps (booking), a patient's own moves and cancellations
(changes), what they share (guards, rules), the public pages and forms (public_views,
public_forms) and the patient's own pages by signed link: cancel, reschedule, check-in
(patient_views)."""
