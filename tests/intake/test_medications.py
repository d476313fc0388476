"""Reading typed medicine names (intake.medications) and morphine milligram equivalents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake import medications, policy


def entry(name: str, dose: str = "1", unit: str = "mg", times: object = 1) -> dict:
    return {"name": name, "dose": dose, "unit": unit, "times_per_day": times}


@pytest.mark.parametrize(
    ("typed", "generic"),
    [
        ("oxycodone", "oxycodone"),
        ("Oxycodone", "oxycodone"),
        ("  OXYCODONE  ", "oxycodone"),
        ("oxycodone 10mg", "oxycodone"),
        ("oxycodone10mg", "oxycodone"),
        ("Oxycodone ER", "oxycodone"),
        ("oxycodone hydrochloride 5 mg tablet", "oxycodone"),
        ("hydrocodone/acetaminophen 10/325", "hydrocodone"),
        ("Tylenol #3", "codeine"),
        ("tylenol with codeine", "codeine"),
        ("MS Contin 30 mg", "morphine"),
        ("Duragesic patch 25 mcg/hr", "fentanyl"),
        ("fentanyl transdermal", "fentanyl"),
        ("Xanax XR 1mg", "alprazolam"),
        ("lithium carbonate", "lithium"),
        ("Theo-24", "theophylline"),
        ("rifampicin", "rifampin"),
        ("Ambien CR", "zolpidem"),
    ],
)
def test_typed_names_are_read_ignoring_case_spacing_dose_and_release_text(typed, generic):
    drug = medications.identify(typed)
    assert drug is not None
    assert drug.generic == generic
    assert drug.exact


# The brand names the brief names, and their generics.
BRANDS = {
    "Xanax": "alprazolam",
    "Ativan": "lorazepam",
    "Klonopin": "clonazepam",
    "Valium": "diazepam",
    "Vyvanse": "lisdexamfetamine",
    "Ritalin": "methylphenidate",
    "Concerta": "methylphenidate",
    "OxyContin": "oxycodone",
    "Percocet": "oxycodone",
    "Vicodin": "hydrocodone",
    "Norco": "hydrocodone",
    "Dilaudid": "hydromorphone",
    "Duragesic": "fentanyl",
    "Ultram": "tramadol",
    "Nucynta": "tapentadol",
    "Lamictal": "lamotrigine",
    "Namenda": "memantine",
    "Ozempic": "semaglutide",
    "Wegovy": "semaglutide",
    "Mounjaro": "tirzepatide",
    "Zepbound": "tirzepatide",
    "Neurontin": "gabapentin",
    "Lyrica": "pregabalin",
    "Ambien": "zolpidem",
    "Emsam": "selegiline",
    "Nardil": "phenelzine",
    "Parnate": "tranylcypromine",
    "Marplan": "isocarboxazid",
    "Provigil": "modafinil",
    "Nuvigil": "armodafinil",
    "Vivitrol": "naltrexone",
    "Biaxin": "clarithromycin",
    "Tegretol": "carbamazepine",
    "Trulicity": "dulaglutide",
}


@pytest.mark.parametrize(("brand", "generic"), BRANDS.items())
def test_common_us_brand_names_map_to_their_generic(brand, generic):
    drug = medications.identify(brand.lower())
    assert drug is not None
    assert generic in drug.ingredients


def test_adderall_is_a_stimulant_of_two_amphetamine_salts():
    drug = medications.identify("Adderall XR 20 mg")
    assert drug.ingredients == ("amphetamine", "dextroamphetamine")
    assert drug.classes == {"psychostimulant"}


def test_a_combination_brand_carries_every_ingredient_class():
    assert medications.identify("Contrave").classes == {"naltrexone", "antidepressant"}


@pytest.mark.parametrize(
    ("class_id", "name"),
    [
        ("benzodiazepine", "lorazepam"),
        ("maoi", "selegiline"),
        ("psychostimulant", "armodafinil"),
        ("opioid", "buprenorphine"),
        ("lamotrigine", "lamotrigine"),
        ("nmda_other", "riluzole"),
        ("naltrexone", "naltrexone"),
        ("cns_depressant", "hydroxyzine"),
        ("cyp_interacting", "ketoconazole"),
        ("glp1_agonist", "exenatide"),
        ("theophylline", "aminophylline"),
        ("antidepressant", "sertraline"),
    ],
)
def test_each_class_is_recognised(class_id, name):
    assert class_id in medications.identify(name).classes


@pytest.mark.parametrize(
    "typed",
    [
        "lisinopril",
        "metformin",
        "atorvastatin",
        "levothyroxine",
        "azithromycin",  # not a near miss for clarithromycin
        "oxcarbazepine",  # not a near miss for carbamazepine
        "hydroxychloroquine",
        "Tylenol",
        "vitamin D 1000 units",
        "",
        "   ",
        "10 mg",
    ],
)
def test_other_medicines_and_empty_text_are_not_read_as_a_listed_drug(typed):
    assert medications.identify(typed) is None


@pytest.mark.parametrize(("typed", "generic"), [("xanex", "alprazolam"), ("oxycodon", "oxycodone")])
def test_a_close_typo_is_read_as_a_possible_match(typed, generic):
    drug = medications.identify(typed)
    assert drug.generic == generic
    assert not drug.exact


@pytest.mark.parametrize("odd", [None, 3, ["oxycodone"], {"name": "oxycodone"}, b"oxycodone"])
def test_a_name_that_is_not_text_is_not_read(odd):
    assert medications.identify(odd) is None


def test_every_brand_or_alias_is_distinct_from_every_generic_of_another_drug():
    generics = {generic for table in policy.MEDICATION_CLASSES.values() for generic in table}
    for table in policy.MEDICATION_CLASSES.values():
        for generic, brands in table.items():
            for brand in brands:
                assert medications.normalise(brand) not in generics - {generic}, brand


# --- MME ------------------------------------------------------------------------------------------


def test_mme_factors_are_exactly_the_reference_table():
    # screening-reference.md §7.2, "MME/day calculation (CDC 2022, confirmed)".
    assert {generic: str(factor) for generic, (factor, _unit) in policy.MME_FACTORS.items()} == {
        "codeine": "0.15",
        "fentanyl": "2.4",
        "hydrocodone": "1.0",
        "hydromorphone": "5.0",
        "methadone": "4.7",
        "morphine": "1.0",
        "oxycodone": "1.5",
        "oxymorphone": "3.0",
        "tapentadol": "0.4",
        "tramadol": "0.2",
    }
    assert {unit for _factor, unit in policy.MME_FACTORS.values()} == {"mg", "mcg_per_hour"}
    assert policy.MME_FACTORS["fentanyl"][1] == "mcg_per_hour"
    assert set(policy.MME_FACTORS) <= set(policy.OPIOIDS)


@pytest.mark.parametrize(
    ("item", "mme"),
    [
        (entry("oxycodone 10mg", "10", "mg", 3), "45.0"),  # 10 x 3 x 1.5
        (entry("fentanyl", "25", "mcg_per_hour", 1), "60.0"),  # 25 x 2.4
        (entry("Duragesic", "25", "mcg_per_hour", 3), "60.0"),  # a patch is not x times a day
        (entry("Duragesic", "12.5", "mcg_per_hour", None), "30.0"),
        (entry("OxyContin", "20", "mg", 2), "60.0"),
        (entry("Dilaudid", "4", "mg", 4), "80.0"),  # x 5.0
        (entry("Ultram", "50", "mg", 4), "40.0"),  # x 0.2
        (entry("Nucynta", "100", "mg", 2), "80.0"),  # x 0.4
        (entry("methadone", "10", "mg", 3), "141.0"),  # x 4.7
        (entry("codeine", "30", "mg", 4), "18.0"),  # x 0.15
        (entry("codeine", "15", "mg", 1), "2.3"),  # 2.25, half up
        (entry("codeine", "7.5", "mg", 1), "1.1"),  # 1.125
        (entry("Opana", "10", "mg", 2), "60.0"),  # x 3.0
        (entry("MS Contin", "30", "mg", 2), "60.0"),
        (entry("Norco", "10", "mg", 4), "40.0"),
        (entry("oxycodone", "5", "mg", "3"), "22.5"),
        (entry("morphine", "0", "mg", 1), "0.0"),
    ],
)
def test_daily_mme_worked_examples(item, mme):
    assert medications.daily_mme(item) == Decimal(mme)


@pytest.mark.parametrize(
    "item",
    [
        entry("oxycodone", "10", "mcg_per_hour", 3),  # an oral opioid needs mg
        entry("fentanyl", "25", "mg", 1),  # fentanyl's factor is for a patch rate
        entry("Fentora", "100", "mcg_per_hour", 1),  # transmucosal fentanyl has no factor
        entry("oxycodone", "10", "other", 3),
        entry("buprenorphine", "8", "mg", 1),  # no factor in the reference
        entry("alprazolam", "1", "mg", 2),  # not an opioid
        entry("oxycodon", "10", "mg", 3),  # only a near match
        entry("oxycodone", "10", "mg", None),
        entry("oxycodone", "10", "mg", 0),
        entry("oxycodone", "10", "mg", True),
        entry("oxycodone", "-5", "mg", 1),
        entry("oxycodone", "ten", "mg", 1),
        entry("oxycodone", "NaN", "mg", 1),
        entry("oxycodone", "Infinity", "mg", 1),
        entry("oxycodone", "1e30", "mg", 3),  # too large to round
        entry("oxycodone", "", "mg", 1),
        entry("oxycodone and morphine", "10", "mg", 1),  # two opioids in one line
        {"name": "oxycodone", "unit": "mg", "times_per_day": 1},
        {},
        None,
        "oxycodone 10 mg",
    ],
)
def test_daily_mme_is_none_when_it_cannot_be_computed(item):
    assert medications.daily_mme(item) is None


def test_total_mme_adds_the_rounded_entries_and_skips_the_rest():
    items = [
        entry("oxycodone", "10", "mg", 3),  # 45.0
        entry("Duragesic", "25", "mcg_per_hour", 1),  # 60.0
        entry("tramadol", "50", "other", 2),  # not computed
        entry("sertraline", "50", "mg", 1),  # not an opioid
        "junk",
    ]
    assert medications.total_mme(items) == Decimal("105.0")
    assert medications.opioids_without_mme(items) == [2]


@pytest.mark.parametrize("odd", [None, "oxycodone", 3, {"name": "oxycodone"}, []])
def test_total_mme_of_no_usable_list_is_zero(odd):
    assert medications.total_mme(odd) == Decimal("0.0")


def test_classes_in_gives_the_positions_of_each_class():
    items = [
        entry("Xanax"),
        entry("sertraline"),
        "junk",
        entry("Klonopin"),
        entry("Percocet"),
        {"name": None},
        entry("Contrave"),
    ]
    assert medications.classes_in(items) == {
        "benzodiazepine": [0, 3],
        "antidepressant": [1, 6],
        "opioid": [4],
        "naltrexone": [6],
    }


def test_combination_products_are_marked_so_the_dose_is_checked():
    assert medications.identify("Percocet").combination
    assert medications.identify("oxycodone/acetaminophen").combination
    assert not medications.identify("OxyContin").combination


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": st.one_of(st.text(max_size=40), st.sampled_from(sorted(BRANDS)), st.none()),
            "dose": st.one_of(st.text(max_size=25), st.integers(), st.floats(), st.none()),
            "unit": st.sampled_from(["mg", "mcg_per_hour", "other", "", None]),
            "times_per_day": st.one_of(st.integers(), st.text(max_size=5), st.none()),
        },
    )
)
def test_daily_mme_never_raises_and_is_none_or_a_non_negative_one_decimal(item):
    mme = medications.daily_mme(item)
    assert mme is None or (mme >= 0 and mme.as_tuple().exponent == -1)
